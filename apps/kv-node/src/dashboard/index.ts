/** The live cluster dashboard served at `/ui` (see `dashboard-handler.ts`). */

export { createDashboardHandler } from './dashboard-handler.js';
export type { DashboardHandler, DashboardOptions } from './dashboard-handler.js';
export { startDashboardServer } from './dashboard-server.js';
export type { DashboardServerOptions, RunningDashboardServer } from './dashboard-server.js';
export type { ClusterStatusSource } from './cluster-status-source.js';
export { statusSourceFromClusterStatus, nodeViewsFromStatus } from './node-status-source.js';
export { statusSourceFromQuorumStatus, quorumNodeViewsFromStatus } from './quorum-status-source.js';
export { HttpClusterStatusSource } from './http-status-source.js';
export type { HttpClusterStatusSourceOptions, PolledMember } from './http-status-source.js';
export type { DemoControl } from './demo-control.js';
export type { MemberControl } from './member-control.js';
export { createSignalDemoControl } from './signal-demo-control.js';
export type { SignalDemoControlOptions } from './signal-demo-control.js';
export { defaultDashboardAssetsDirectory } from './static-assets.js';
export { NODE_DEMO_ACTIONS } from './cluster-view.js';
export type {
  ClusterView,
  DashboardRole,
  DemoAction,
  DemoActionResult,
  InjectedFault,
  LeaderChange,
  MemberAction,
  NodeDemoAction,
  NodeView,
  ThroughputPoint,
} from './cluster-view.js';
