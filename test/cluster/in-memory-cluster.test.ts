import { InMemoryBroker } from '../../lib/index.js';
import { clusterContract } from '../support/cluster-contract.js';

const broker = new InMemoryBroker({ requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 400 });

clusterContract('three servers sharing one in-memory broker', () => broker);
