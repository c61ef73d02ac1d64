/** Invalid configuration: names the flag at fault so the operator knows what to fix. */
export class ConfigError extends Error {
  /** The flag (without dashes) the message is about. */
  readonly flag: string;

  /**
   * @param flag the flag at fault, without dashes.
   * @param message what is wrong with it.
   */
  constructor(flag: string, message: string) {
    super(`--${flag}: ${message}`);
    this.name = 'ConfigError';
    this.flag = flag;
  }
}
