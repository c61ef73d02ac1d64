/**
 * The fault script of a playground run: what happens to the cluster and when, as text a reader can
 * edit and a URL can carry. One action per line (or separated by `;`), each `@<virtual ms> <verb>`:
 *
 *   @3000 crash leader        @6000 restart previous     @2000 pause athens    @5000 resume previous
 *   @3000 isolate leader      @3000 partition leader,follower | cyrene      @8000 heal
 *   @2500 put x=1             @3500 put x=2 to previous  @4000 skew cyrene 1500
 *
 * A member is named, or `leader` (the running member that leads the highest generation when the
 * action runs), `follower` (the first running member in cluster order that is not leader) or
 * `previous` (the member the previous action resolved to), so a scenario works for any seed.
 */

/** A member as a script names it: a member name, `leader`, `follower` or `previous`. */
export type MemberReference = string;

/** One thing the reader (or a scenario) does to the cluster. */
export type PlaygroundAction =
  | {
      readonly kind: 'crash' | 'restart' | 'pause' | 'resume' | 'isolate';
      readonly member: MemberReference;
    }
  | { readonly kind: 'partition'; readonly groups: readonly (readonly MemberReference[])[] }
  | { readonly kind: 'heal' }
  /** The member's monotonic clock jumps forward by `ms`: its timers fire early. */
  | { readonly kind: 'skew'; readonly member: MemberReference; readonly ms: number }
  | {
      readonly kind: 'put';
      readonly key: string;
      readonly value: string;
      readonly to?: MemberReference;
    };

/** An action at a virtual time (milliseconds since the run started). */
export interface ScriptedAction {
  readonly atMs: number;
  readonly action: PlaygroundAction;
}

/** Thrown by {@link parseFaultScript} for a line it cannot read; the message names the line. */
export class FaultScriptError extends Error {
  override readonly name = 'FaultScriptError';
}

const NAME = /^[A-Za-z0-9_-]+$/;
const MEMBER_VERBS = new Set(['crash', 'restart', 'pause', 'resume', 'isolate']);

function memberName(text: string | undefined, where: string): MemberReference {
  if (text === undefined || !NAME.test(text)) {
    throw new FaultScriptError(`${where}: expected a member name, leader, follower or previous`);
  }
  return text;
}

function parseAction(words: readonly string[], where: string): PlaygroundAction {
  const [verb, ...rest] = words;
  if (verb !== undefined && MEMBER_VERBS.has(verb)) {
    if (rest.length !== 1) throw new FaultScriptError(`${where}: ${verb} takes one member`);
    return {
      kind: verb as 'crash' | 'restart' | 'pause' | 'resume' | 'isolate',
      member: memberName(rest[0], where),
    };
  }
  if (verb === 'skew') {
    if (rest.length !== 2 || !/^\d+$/.test(rest[1] ?? '')) {
      throw new FaultScriptError(`${where}: skew takes a member and whole milliseconds`);
    }
    return { kind: 'skew', member: memberName(rest[0], where), ms: Number(rest[1]) };
  }
  if (verb === 'heal') {
    if (rest.length !== 0) throw new FaultScriptError(`${where}: heal takes nothing`);
    return { kind: 'heal' };
  }
  if (verb === 'partition') {
    const groups = rest.join(' ').split('|');
    if (groups.some((group) => group.trim() === '')) {
      throw new FaultScriptError(`${where}: partition needs groups like a,b | c`);
    }
    return {
      kind: 'partition',
      groups: groups.map((group) => group.split(',').map((name) => memberName(name.trim(), where))),
    };
  }
  if (verb === 'put') {
    const assignment = /^([A-Za-z0-9_-]+)=([A-Za-z0-9_-]+)$/.exec(rest[0] ?? '');
    if (assignment === null) throw new FaultScriptError(`${where}: put needs key=value`);
    const [, key, value] = assignment as unknown as [string, string, string];
    if (rest.length === 1) return { kind: 'put', key, value };
    if (rest.length === 3 && rest[1] === 'to') {
      return { kind: 'put', key, value, to: memberName(rest[2], where) };
    }
    throw new FaultScriptError(`${where}: put key=value [to member]`);
  }
  throw new FaultScriptError(`${where}: unknown action ${JSON.stringify(verb ?? '')}`);
}

/**
 * Reads a script. Actions keep their order; they must not go back in time.
 * @throws FaultScriptError naming the first part it cannot read.
 */
export function parseFaultScript(text: string): ScriptedAction[] {
  const actions: ScriptedAction[] = [];
  const parts = text
    .split(/[;\n]/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
  for (const [position, part] of parts.entries()) {
    const where = `action ${position + 1} (${part})`;
    const match = /^@(\d+(?:\.\d+)?)\s+(.+)$/.exec(part);
    if (match === null) throw new FaultScriptError(`${where}: expected @<ms> <action>`);
    const atMs = Number(match[1]);
    const previous = actions.at(-1);
    if (previous !== undefined && atMs < previous.atMs) {
      throw new FaultScriptError(`${where}: goes back in time (after @${previous.atMs})`);
    }
    actions.push({ atMs, action: parseAction((match[2] ?? '').split(/\s+/), where) });
  }
  return actions;
}

/** One action as script text, without its time: `crash leader`, `put x=1 to athens`. */
export function formatAction(action: PlaygroundAction): string {
  switch (action.kind) {
    case 'heal':
      return 'heal';
    case 'partition':
      return `partition ${action.groups.map((group) => group.join(',')).join(' | ')}`;
    case 'skew':
      return `skew ${action.member} ${action.ms}`;
    case 'put':
      return `put ${action.key}=${action.value}${action.to === undefined ? '' : ` to ${action.to}`}`;
    default:
      return `${action.kind} ${action.member}`;
  }
}

/** The script as text, one action per line; {@link parseFaultScript} reads it back unchanged. */
export function formatFaultScript(actions: readonly ScriptedAction[]): string {
  return actions.map(({ atMs, action }) => `@${atMs} ${formatAction(action)}`).join('\n');
}
