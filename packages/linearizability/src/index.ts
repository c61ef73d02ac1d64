// @x/linearizability: a history format, recorder and linearizability checker in the style of
// Wing-Gong-Lowe and Porcupine.
export type {
  EventType,
  HistoryEvent,
  HistoryValue,
  OperationName,
  ProcessId,
  Scalar,
} from './history.js';
export { eventTypes, operationNames } from './history.js';
export { HistoryError } from './history-error.js';
export type { Clock } from './clock.js';
export { nodeClock } from './node-clock.js';
export type { Operation } from './operation.js';
export { toOperations } from './operation.js';
export type { Model } from './model.js';
export type { RegisterModelOptions } from './register-model.js';
export { registerModel } from './register-model.js';
export type { KeyValueState } from './key-value-model.js';
export { keyValueModel } from './key-value-model.js';
export type {
  CheckResult,
  CheckStatistics,
  Linearizable,
  NotLinearizable,
  Unknown,
} from './check-result.js';
export type { CheckOptions } from './check.js';
export { checkHistory, checkOperations, defaultStepBudget } from './check.js';
export { formatJsonLines, parseJsonLines } from './json-lines.js';
export { parseJepsenLog } from './jepsen-log.js';
export { parseEdnHistory } from './edn-history.js';
export type {
  HistoryRecorderOptions,
  Invocation,
  PendingOperation,
  RecordOptions,
} from './history-recorder.js';
export { HistoryRecorder } from './history-recorder.js';
export type { HtmlReportOptions } from './html-report.js';
export { renderHtmlReport } from './html-report.js';
