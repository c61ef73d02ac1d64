// @x/simulation: deterministic simulation of whole clusters: virtual time, network, disks,
// crashes, invariant checks and linearizability-checked client histories.
export { Simulation, SimulationFailedError, SimulationTimeoutError } from './simulation.js';
export type { SimulationOptions } from './simulation.js';
export type { ScheduledEvent } from './event-queue.js';
export { SeededRandom, hashToWords } from './seeded-random.js';
export { RandomStreams } from './random-streams.js';
export { TraceHasher } from './trace-hasher.js';
export { SimulatedClock, SimulatedWallClock } from './simulated-clock.js';
export type { SimulatedClockOptions, VirtualTimeSource } from './simulated-clock.js';
export { SimulatedTimers } from './simulated-timers.js';
export { ProcessGate } from './process-gate.js';
export type { ProcessState } from './process-gate.js';
export { ProcessFileSystem } from './process-file-system.js';
export { ProcessLogger } from './process-logger.js';
export type { LogEntry, LogLevel, LogSink } from './process-logger.js';
export { exponentialLatency, fixedLatency, uniformLatency } from './latency.js';
export type { LatencyDistribution } from './latency.js';
export { SimulatedEndpoint, SimulatedNetwork } from './simulated-network.js';
export type {
  InFlightMessage,
  LinkConditions,
  MessageFilter,
  MessageHandler,
  NetworkStatistics,
} from './simulated-network.js';
export { defaultDiskLatency } from './disk-latency.js';
export type { DiskLatency, DiskOperation } from './disk-latency.js';
export { SimulatedNode } from './simulated-node.js';
export type { CrashOptions, NodeFactory, NodePorts } from './simulated-node.js';
export {
  Cluster,
  InvariantViolation,
  LinearizabilityViolation,
  defaultNodeNames,
} from './cluster.js';
export type { ClusterOptions, Invariant } from './cluster.js';
export { NodeUnavailableError, SimulatedClient } from './simulated-client.js';
export type { ClientContext, OperationOutcome } from './simulated-client.js';
export { HistoryRecorder } from './history-recorder.js';
export type { ClientOperation } from './history-recorder.js';
export { describeFault } from './fault.js';
export type { Fault, ScheduledFault } from './fault.js';
export { injectRandomFaults } from './random-faults.js';
export type { RandomFaultKind, RandomFaultOptions } from './random-faults.js';
export { registerOperations, runWorkload } from './workload.js';
export type { WorkloadOptions } from './workload.js';
export { SometimesCounters } from './sometimes.js';
export type { SometimesEntry } from './sometimes.js';
export { seedFromEnvironment, simulationSeeds } from './seeds.js';
export { SimulationRunError, simulate } from './simulate.js';
export type { SimulationReport } from './simulate.js';
export type {
  Clock,
  FileHandle,
  FileSystem,
  Logger,
  OpenMode,
  Random,
  Timers,
  Transport,
} from './ports.js';
