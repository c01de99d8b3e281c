/** How big and how long: the full run, and `--quick` (seconds, tiny sizes) for CI. */
export interface Sizes {
  runs: number;
  /** Sockets in the one room of the fan-out scenario. */
  fanout: number[];
  /**
   * Sockets connected (to a room of their own) before the fan-out's idle memory is first read, so
   * that the code and type feedback V8 builds once for the connection path is not spread over the
   * sockets measured: heap per idle socket is what one more socket costs.
   */
  warmSockets: number;
  /** Single broadcasts timed one by one (median taken). */
  dispatches: number;
  /** Back-to-back broadcasts of the end-to-end figure. */
  burst: number;
  /** Deliveries measured with writes stubbed (passes = this / sockets), after a fifth as many to warm up. */
  stubbedDeliveries: number;
  /** Sockets of the registry scenario; there are as many rooms of 5, each socket in 5 of them. */
  registrySockets: number;
  /** Join+leave rounds over every registry socket (after a fifth as many to warm up). */
  joinLeaveRounds: number;
  /** Slices the join+leave rounds are timed in; the median slice is the figure. */
  joinLeaveWindows: number;
  /** Passes over every small room with writes stubbed. */
  smallRoomPasses: number;
  /** Sockets in one room, split over two servers. */
  redisSockets: number;
  /** Latency probes, one every `probeIntervalMs`. */
  probes: number;
  probeIntervalMs: number;
  /** Rooms of 5 sockets for the Redis traffic figure, each broadcast to `smallRoomRepeats` times. */
  redisSmallRooms: number;
  smallRoomRepeats: number;
  /** Entries of the room whose `presence(room)` is read, tracked on one server and replicated to another. */
  presenceEntries: number;
  /** Calls of `presence(room)` per timed batch. */
  presenceReads: number;
  /** Tracks timed from one server to the other's `'presence'` event, one every `probeIntervalMs`. */
  presenceProbes: number;
  /** Pairs of stretches (collector on, collector off) of the metrics scenario. */
  metricsPairs: number;
  /** Back-to-back broadcasts of each end-to-end stretch of the metrics scenario (short, so that pairs are close in time). */
  metricsBurst: number;
  /** Deliveries of each stretch with writes stubbed in the metrics scenario (long enough to take scrapes). */
  metricsStubbedDeliveries: number;
  /** Deliveries of each stretch counted under callgrind (`--callgrind`). */
  metricsInstructionDeliveries: number;
  /** Deliveries of the measured stretch of the fan-out counted under callgrind (`--only=instructions`), after as many to warm up. */
  instructionDeliveries: number;
  /** Broker spread: servers on one broker, sockets in rooms of `spreadRoomSize` placed at random, broadcasts to each room. */
  spreadServers: number;
  spreadSockets: number;
  spreadRoomSize: number;
  spreadRepeats: number;
  /** Clients of the sample chat app, in `chatRooms` rooms, chatting `chatSeconds` at `chatRate` messages a second in all. */
  chatClients: number;
  chatRooms: number;
  chatSeconds: number;
  chatRate: number;
  /** Burst: sockets in the one room, broadcasts per synchronous block, blocks measured. */
  burstSockets: number;
  burstPerTurn: number;
  burstTurns: number;
  /** Chat storm: sockets, each in one room of `chatRoomSize`; messages measured (after a fifth as many), in flight at most. */
  chatSockets: number;
  chatRoomSize: number;
  chatMessages: number;
  chatWindow: number;
  /** Low load: sockets in the one room, broadcasts timed, ms apart. */
  lowLoadSockets: number;
  lowLoadProbes: number;
  lowLoadIntervalMs: number;
  /** Probes a peer gets in a row before the next peer's turn (the low-load peers take turns, all up at once). */
  lowLoadBlock: number;
  /** Recovery storm: sockets that drop at once and reconnect, and sockets that stay, over `stormRooms` rooms. */
  stormSockets: number;
  stormSteady: number;
  stormRooms: number;
  /** Broadcasts a second in all, round robin over the rooms. */
  stormRate: number;
  /** The reconnects start at random within this long after the drop. */
  stormSpreadMs: number;
  /** How long the stream warms up, then is measured before the drop, then runs on after the storm. */
  stormWindowMs: number;
  /** Dropped sockets waiting, for the heap per waiting session. */
  waitingSessions: number;
  /** Frames held, of each of `heldFrameSizes` bytes, for the memory per held frame byte. */
  heldFrames: number;
  heldFrameSizes: number[];
}

export const FULL: Sizes = {
  runs: 3,
  fanout: [1000, 5000],
  warmSockets: 100,
  dispatches: 5,
  burst: 200,
  stubbedDeliveries: 500_000,
  registrySockets: 10_000,
  joinLeaveRounds: 50,
  joinLeaveWindows: 5,
  smallRoomPasses: 5,
  redisSockets: 2000,
  probes: 200,
  probeIntervalMs: 5,
  redisSmallRooms: 100,
  smallRoomRepeats: 10,
  presenceEntries: 1000,
  presenceReads: 1000,
  presenceProbes: 200,
  metricsPairs: 30,
  metricsBurst: 60,
  metricsStubbedDeliveries: 10_000_000,
  metricsInstructionDeliveries: 2_500_000,
  instructionDeliveries: 1_000_000,
  spreadServers: 8,
  spreadSockets: 10_000,
  spreadRoomSize: 10,
  spreadRepeats: 5,
  chatClients: 2000,
  chatRooms: 40,
  chatSeconds: 20,
  chatRate: 200,
  burstSockets: 5000,
  burstPerTurn: 10,
  burstTurns: 20,
  chatSockets: 2000,
  chatRoomSize: 100,
  chatMessages: 20_000,
  chatWindow: 400,
  lowLoadSockets: 1000,
  lowLoadProbes: 400,
  lowLoadIntervalMs: 10,
  lowLoadBlock: 20,
  stormSockets: 5000,
  stormSteady: 500,
  stormRooms: 10,
  stormRate: 100,
  stormSpreadMs: 2000,
  stormWindowMs: 2000,
  waitingSessions: 5000,
  heldFrames: 20_000,
  heldFrameSizes: [100, 1000],
};

export const QUICK: Sizes = {
  runs: 1,
  fanout: [50],
  warmSockets: 5,
  dispatches: 3,
  burst: 20,
  stubbedDeliveries: 5000,
  registrySockets: 50,
  joinLeaveRounds: 5,
  joinLeaveWindows: 1,
  smallRoomPasses: 5,
  redisSockets: 20,
  probes: 20,
  probeIntervalMs: 2,
  redisSmallRooms: 10,
  smallRoomRepeats: 2,
  presenceEntries: 100,
  presenceReads: 100,
  presenceProbes: 20,
  metricsPairs: 2,
  metricsBurst: 20,
  metricsStubbedDeliveries: 5000,
  metricsInstructionDeliveries: 5000,
  instructionDeliveries: 5000,
  spreadServers: 3,
  spreadSockets: 60,
  spreadRoomSize: 4,
  spreadRepeats: 2,
  chatClients: 60,
  chatRooms: 3,
  chatSeconds: 2,
  chatRate: 30,
  burstSockets: 50,
  burstPerTurn: 10,
  burstTurns: 2,
  chatSockets: 40,
  chatRoomSize: 10,
  chatMessages: 200,
  chatWindow: 20,
  lowLoadSockets: 20,
  lowLoadProbes: 20,
  lowLoadIntervalMs: 10,
  lowLoadBlock: 10,
  stormSockets: 50,
  stormSteady: 10,
  stormRooms: 5,
  stormRate: 100,
  stormSpreadMs: 200,
  stormWindowMs: 300,
  waitingSessions: 50,
  heldFrames: 200,
  heldFrameSizes: [100, 1000],
};
