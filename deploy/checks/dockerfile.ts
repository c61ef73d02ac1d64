/**
 * A reader of the Dockerfile subset deploy/Dockerfile uses: stages, instructions with their flags
 * and arguments, line continuations, comments and `${ARG}` substitution in FROM.
 */

/** One instruction, e.g. `COPY --from=build /rootfs/app /app`. */
export interface Instruction {
  /** Upper-case keyword. */
  keyword: string;
  /** `--name=value` flags before the arguments. */
  flags: Map<string, string>;
  /** The rest of the line after the flags, as written (continuations joined). */
  text: string;
  /** 1-based line where the instruction starts, for messages. */
  line: number;
}

/** A build stage: `FROM <base> AS <name>` and its instructions. */
export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** ARG defaults declared before the first FROM. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

function logicalLines(source: string): { text: string; line: number }[] {
  const result: { text: string; line: number }[] = [];
  let pending: { text: string; line: number } | undefined;
  source.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment lines, including those inside a continued instruction, are dropped.
    if (trimmed.startsWith('#')) return;
    if (pending === undefined && trimmed === '') return;
    const continues = trimmed.endsWith('\\');
    const piece = continues ? trimmed.slice(0, -1).trim() : trimmed;
    if (pending === undefined) pending = { text: piece, line: index + 1 };
    else pending.text = `${pending.text} ${piece}`.trim();
    if (!continues) {
      result.push(pending);
      pending = undefined;
    }
  });
  if (pending !== undefined) result.push(pending);
  return result;
}

function substitute(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const value = args.get(braced ?? bare ?? '');
    return value ?? whole;
  });
}

/**
 * Parses a Dockerfile.
 *
 * @throws Error naming the line of an instruction before the first FROM other than ARG.
 */
export function parseDockerfile(source: string): Dockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const { text, line } of logicalLines(source)) {
    const keyword = /^\S+/.exec(text)![0].toUpperCase();
    let rest = text.slice(keyword.length).trim();
    const flags = new Map<string, string>();
    for (
      let flag = /^--([\w-]+)=(\S+)\s*/.exec(rest);
      flag;
      flag = /^--([\w-]+)=(\S+)\s*/.exec(rest)
    ) {
      flags.set(flag[1]!, flag[2]!);
      rest = rest.slice(flag[0].length);
    }
    if (keyword === 'FROM') {
      const [base, as, name] = substitute(rest, globalArgs).split(/\s+/);
      if (base === undefined || (as !== undefined && as.toUpperCase() !== 'AS')) {
        throw new Error(`Dockerfile line ${line}: cannot read FROM ${rest}`);
      }
      stages.push({ name: name ?? String(stages.length), base, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword !== 'ARG') throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
      const [name, value = ''] = rest.split('=', 2) as [string, string?];
      globalArgs.set(name, value);
      continue;
    }
    stage.instructions.push({ keyword, flags, text: rest, line });
  }
  return { globalArgs, stages };
}

/**
 * Splits an ENV instruction's text into variables; supports `A=1 B="two words"` and `A 1`.
 * `$VAR` and `${VAR}` refer to `environment` (earlier ENV values or the base's).
 */
export function parseEnv(
  text: string,
  environment: ReadonlyMap<string, string>,
): Map<string, string> {
  const result = new Map<string, string>();
  if (!/^\S+=/.test(text)) {
    const [name, ...value] = text.split(/\s+/);
    result.set(name!, substitute(value.join(' '), environment));
    return result;
  }
  for (const match of text.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = match[2]!.startsWith('"') ? match[2]!.slice(1, -1) : match[2]!;
    result.set(match[1]!, substitute(raw, new Map([...environment, ...result])));
  }
  return result;
}

/**
 * The command of a RUN, CMD, ENTRYPOINT or HEALTHCHECK CMD: exec form (JSON array) as is,
 * shell form as `sh -c <text>`.
 */
export function commandOf(text: string): string[] {
  if (text.startsWith('[')) return JSON.parse(text) as string[];
  return ['/bin/sh', '-c', text];
}
