/**
 * The cluster playground's model, for the docs site's tests and build: the scenarios, the run
 * configuration carried in a link, the leaderless scenarios and the guides' pictures. The page
 * itself is bundled for the browser by `@x/playground/bundle`.
 */

export {
  decodeConfig,
  defaultConfig,
  encodeConfig,
  namesARun,
  runEndMs,
  SETTLE_MS,
} from './playground-config.js';
export type { DecodedConfig, PlaygroundConfig } from './playground-config.js';
export { scenarioById, scenarios } from './scenarios.js';
export type { Scenario } from './scenarios.js';
export {
  leaderlessScenarioById,
  leaderlessScenarios,
  runLeaderlessScenario,
} from './leaderless/leaderless-scenarios.js';
export type { LeaderlessOutcome, LeaderlessScenario } from './leaderless/leaderless-scenarios.js';
export { guidePictures } from './guide-pictures/guide-pictures.js';
export type { GuidePicture } from './guide-pictures/guide-pictures.js';
