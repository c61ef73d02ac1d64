/**
 * Runs a Dockerfile's build steps without a container engine: every stage gets a directory that
 * stands in for its root file system, COPY copies (honouring the .dockerignore), RUN runs with
 * `sh -c` in the stage's WORKDIR, ENV sets the environment. The result is the final stage's tree
 * and the configuration its image would have (environment, user, entrypoint, health check).
 *
 * What cannot run here is reported, not faked: a stage named by `hostStage` stands for the
 * toolchain the host already has (its RUN steps are skipped, the caller checks the host instead);
 * RUN steps in the final stage are refused (they would run as root in the image but not here);
 * `--chown` and USER are recorded, not applied. Absolute paths in RUN are not remapped, so the
 * Dockerfile keeps RUN to relative paths.
 */

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix, relative } from 'node:path';
import { commandOf, parseDockerfile, parseEnv } from './dockerfile.js';

/** Inputs of {@link rehearseDockerfile}. */
export interface RehearsalOptions {
  /** Path of the Dockerfile. */
  dockerfile: string;
  /** The build context directory (`docker build <context>`). */
  context: string;
  /** Empty scratch directory that receives one directory per stage. */
  scratch: string;
  /** Name of the stage the host stands in for (its RUN steps are not run). */
  hostStage: string;
  /** Environment of the host for RUN steps (PATH, HOME, ...). */
  hostEnvironment: Readonly<Record<string, string | undefined>>;
  /** Called before each step, for progress output. */
  onStep?: (description: string) => void;
}

/** What the final stage's image would hold and how it would start. */
export interface RehearsedImage {
  /** Directory standing in for the image's root file system. */
  root: string;
  /** ENV of the final stage (not the host's). */
  environment: Map<string, string>;
  user: string | undefined;
  workdir: string;
  volumes: string[];
  exposedPorts: string[];
  stopSignal: string | undefined;
  /** ENTRYPOINT + CMD as the image would run them, paths still as inside the image. */
  command: string[];
  /** HEALTHCHECK CMD, paths still as inside the image. */
  healthCheck: string[] | undefined;
  /** Every `--chown` a COPY asked for, as `destination owner`. */
  ownership: string[];
  /** Maps a path inside the image to the rehearsal directory. */
  hostPath(imagePath: string): string;
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index += 1) {
    if (pattern.startsWith('**/', index)) {
      source += '(?:.*/)?';
      index += 2;
    } else if (pattern[index] === '*') source += '[^/]*';
    else if (pattern[index] === '?') source += '[^/]';
    else source += pattern[index]!.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}(?:/.*)?$`);
}

/** The patterns of a .dockerignore as a predicate on context-relative paths. */
function readDockerignore(path: string): (relativePath: string) => boolean {
  if (!existsSync(path)) return () => false;
  const patterns = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const unsupported = patterns.find((pattern) => pattern.startsWith('!'));
  if (unsupported !== undefined)
    throw new Error(`${path}: exceptions (${unsupported}) are not supported`);
  const expressions = patterns.map((pattern) => globToRegExp(pattern.replace(/^\/+/, '')));
  return (relativePath) => expressions.some((expression) => expression.test(relativePath));
}

/**
 * Runs the build steps of every stage the final stage depends on and describes the final image.
 *
 * @throws Error naming the Dockerfile line of a step that failed or cannot be rehearsed.
 */
export function rehearseDockerfile(options: RehearsalOptions): RehearsedImage {
  const dockerfile = parseDockerfile(readFileSync(options.dockerfile, 'utf8'));
  const isIgnored = readDockerignore(`${options.dockerfile}.dockerignore`);
  const stageRoots = new Map<string, string>();
  const stageEnvironments = new Map<string, Map<string, string>>();
  let image: RehearsedImage | undefined;

  dockerfile.stages.forEach((stage, stageIndex) => {
    const isFinal = stageIndex === dockerfile.stages.length - 1;
    const root = join(options.scratch, stage.name);
    mkdirSync(root, { recursive: true });
    stageRoots.set(stage.name, root);
    const hostPath = (imagePath: string): string => join(root, imagePath);
    // A stage built FROM an earlier stage inherits its environment; FROM an image starts empty.
    const environment = new Map(stageEnvironments.get(stage.base) ?? []);
    stageEnvironments.set(stage.name, environment);
    let workdir = '/';
    const described: Omit<RehearsedImage, 'root' | 'environment' | 'workdir' | 'hostPath'> = {
      user: undefined,
      volumes: [],
      exposedPorts: [],
      stopSignal: undefined,
      command: [],
      healthCheck: undefined,
      ownership: [],
    };
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    if (stage.name === options.hostStage) {
      options.onStep?.(`stage ${stage.name}: the host stands in for it`);
      return;
    }
    for (const instruction of stage.instructions) {
      const where = `${options.dockerfile}:${instruction.line}`;
      switch (instruction.keyword) {
        case 'ENV':
          for (const [name, value] of parseEnv(instruction.text, environment))
            environment.set(name, value);
          break;
        case 'ARG':
          break;
        case 'WORKDIR':
          workdir = posix.resolve(workdir, instruction.text);
          mkdirSync(hostPath(workdir), { recursive: true });
          break;
        case 'COPY': {
          const sources = instruction.text.split(/\s+/);
          const written = sources.pop()!;
          const destination = posix.resolve(workdir, written);
          // Docker copies files into a destination that ends with '/' or takes several sources.
          const intoDirectory = written.endsWith('/') || written === '.' || sources.length > 1;
          const from = instruction.flags.get('from');
          const owner = instruction.flags.get('chown');
          if (owner !== undefined) described.ownership.push(`${destination} ${owner}`);
          for (const source of sources) {
            options.onStep?.(
              `stage ${stage.name}: COPY ${from === undefined ? '' : `--from=${from} `}${source}`,
            );
            const sourceRoot = from === undefined ? options.context : stageRoots.get(from);
            if (sourceRoot === undefined) throw new Error(`${where}: unknown stage ${from}`);
            const sourcePath = join(sourceRoot, source);
            if (!existsSync(sourcePath))
              throw new Error(`${where}: COPY source ${source} does not exist`);
            // A directory's contents go to the destination; a file goes into it or becomes it.
            const target =
              statSync(sourcePath).isDirectory() || !intoDirectory
                ? hostPath(destination)
                : join(hostPath(destination), basename(source));
            cpSync(sourcePath, target, {
              recursive: true,
              filter: (path) => {
                if (from !== undefined) return true;
                const inContext = relative(options.context, path).split('\\').join('/');
                return inContext === '' || !isIgnored(inContext);
              },
            });
          }
          break;
        }
        case 'RUN': {
          if (isFinal) throw new Error(`${where}: RUN in the final stage cannot be rehearsed`);
          options.onStep?.(`stage ${stage.name}: RUN ${instruction.text}`);
          const [program, ...args] = commandOf(instruction.text);
          const result = spawnSync(program!, args, {
            cwd: hostPath(workdir),
            env: { ...options.hostEnvironment, ...Object.fromEntries(environment) },
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          });
          if (result.status !== 0) {
            throw new Error(
              `${where}: RUN ${instruction.text} exited ${result.status ?? result.signal}\n${result.stdout}\n${result.stderr}`,
            );
          }
          break;
        }
        case 'USER':
          described.user = instruction.text;
          break;
        case 'VOLUME':
          described.volumes.push(
            ...(instruction.text.startsWith('[')
              ? (JSON.parse(instruction.text) as string[])
              : instruction.text.split(/\s+/)),
          );
          break;
        case 'EXPOSE':
          described.exposedPorts.push(...instruction.text.split(/\s+/));
          break;
        case 'STOPSIGNAL':
          described.stopSignal = instruction.text;
          break;
        case 'HEALTHCHECK': {
          const match = /^CMD\s+(.*)$/.exec(instruction.text);
          if (match === null) throw new Error(`${where}: HEALTHCHECK without CMD`);
          described.healthCheck = commandOf(match[1]!);
          break;
        }
        case 'ENTRYPOINT':
          entrypoint = commandOf(instruction.text);
          break;
        case 'CMD':
          cmd = commandOf(instruction.text);
          break;
        default:
          throw new Error(`${where}: ${instruction.keyword} is not supported by the rehearsal`);
      }
    }
    if (isFinal) {
      image = {
        ...described,
        command: [...entrypoint, ...cmd],
        root,
        environment,
        workdir,
        hostPath,
      };
    }
  });
  if (image === undefined) throw new Error(`${options.dockerfile}: no stages`);
  return image;
}
