import { InMemoryBroker } from '../../lib/index.js';
import { brokerConformance } from '../support/broker-conformance.js';

// One broker shared by the three servers of one process: no server of its own to lose, so the
// contract runs without the faults.
brokerConformance({
  name: 'in-memory',
  async start() {
    let broker: InMemoryBroker | undefined;
    return {
      broker: (_index, timings) => (broker ??= new InMemoryBroker(timings)),
      dispose: async () => undefined,
    };
  },
});
