/** The table of nodes: one row per node, updated in place on every view. */

import type {
  ClusterView,
  MemberAction,
  NodeDemoAction,
  NodeView,
} from '../src/dashboard/cluster-view.js';
import { NODE_DEMO_ACTIONS } from '../src/dashboard/cluster-view.js';
import { element, setText } from './dom.js';
import { formatAge, formatCount, formatQuorumReplica } from './format.js';

/** Called when a demo button is pressed. */
export type DemoActionHandler = (action: NodeDemoAction, node: string) => void;

/** Called when a member button (remove, replace) is pressed. */
export type MemberActionHandler = (action: Exclude<MemberAction, 'add'>, node: string) => void;

/** The member buttons of a row, and what each does, shown on hover. */
const MEMBER_ACTION_TITLES: Readonly<Record<Exclude<MemberAction, 'add'>, string>> = {
  remove: 'remove the member from the cluster (member API); it stops and its data is deleted',
  replace: 'remove it, delete its data and add a fresh member that catches up and is promoted',
};

type Field = Exclude<keyof NodeView, 'clientUrl' | 'suspectedByPeers' | 'learner'>;

const FIELDS: readonly Field[] = [
  'name',
  'role',
  'generation',
  'lastIndex',
  'highWaterMark',
  'snapshotIndex',
  'appliedIndex',
  'lagBehindLeader',
  'heartbeatAgeMs',
  'suspectedByLeader',
  'quorum',
];

/** What each demo button does, shown on hover. */
const ACTION_TITLES: Readonly<Record<NodeDemoAction, string>> = {
  kill: 'SIGKILL: a crash, nothing flushed',
  restart: 'start the killed node again on its data directory',
  pause: 'SIGSTOP: frozen like a long GC pause, sockets kept open',
  resume: 'SIGCONT: wake the paused node',
  partition: 'cut the node off from its peers, both ways (clients still reach it)',
};

function cellText(node: NodeView, field: Field): string {
  switch (field) {
    case 'name':
      return node.name;
    case 'role':
      return node.role;
    case 'heartbeatAgeMs':
      return formatAge(node.heartbeatAgeMs);
    case 'suspectedByLeader': {
      // A leaderless member has no leader: its peers' failure detectors say instead.
      const suspected = node.suspectedByPeers ?? node.suspectedByLeader;
      return suspected === null ? '' : suspected ? 'suspected' : 'live';
    }
    case 'quorum':
      return node.quorum === undefined ? '' : formatQuorumReplica(node.quorum);
    default:
      return formatCount(node[field]);
  }
}

/** Renders views into the `<tbody>` of the nodes table. */
export class NodeTable {
  readonly #body: HTMLTableSectionElement;
  readonly #onAction: DemoActionHandler;
  readonly #onMemberAction: MemberActionHandler;
  readonly #rows = new Map<string, HTMLTableRowElement>();

  /**
   * @param body the table body to fill.
   * @param onAction called with the action and node when a demo button is pressed.
   * @param onMemberAction called with the change and node when a member button is pressed.
   */
  constructor(
    body: HTMLTableSectionElement,
    onAction: DemoActionHandler,
    onMemberAction: MemberActionHandler,
  ) {
    this.#body = body;
    this.#onAction = onAction;
    this.#onMemberAction = onMemberAction;
  }

  /** Shows `view`: adds rows for new nodes, updates the others, removes the vanished. */
  render(view: ClusterView): void {
    const seen = new Set<string>();
    for (const node of view.nodes) {
      seen.add(node.name);
      const row = this.#rows.get(node.name) ?? this.#addRow(node.name);
      row.dataset['role'] = node.role;
      // A learner follows the log without a vote: marked beside its role until it is promoted.
      if (node.learner === true) row.dataset['learner'] = 'true';
      else delete row.dataset['learner'];
      row.classList.toggle('is-leader', node.name === view.leader);
      const fault = view.injectedFaults[node.name];
      if (fault === undefined) delete row.dataset['fault'];
      else row.dataset['fault'] = fault;
      for (const field of FIELDS) {
        const cell = row.querySelector(`[data-field="${field}"]`);
        if (cell !== null) setText(cell, cellText(node, field));
      }
      const learnerLabel = row.querySelector('[data-field="learner"]');
      if (learnerLabel !== null) setText(learnerLabel, node.learner === true ? 'learner' : '');
      const faultLabel = row.querySelector('[data-field="fault"]');
      if (faultLabel !== null) setText(faultLabel, fault ?? '');
    }
    for (const [name, row] of this.#rows) {
      if (seen.has(name)) continue;
      row.remove();
      this.#rows.delete(name);
    }
    // Keep the rows in the order the server sends them.
    view.nodes.forEach((node, index) => {
      const row = this.#rows.get(node.name);
      if (row !== undefined && this.#body.children[index] !== row) {
        this.#body.insertBefore(row, this.#body.children[index] ?? null);
      }
    });
  }

  #addRow(name: string): HTMLTableRowElement {
    const row = element('tr', { 'data-node': name });
    for (const field of FIELDS) {
      const cell = element('td', { 'data-field': field });
      if (field === 'name') {
        const label = element('span', { 'data-field': 'name' });
        const learner = element('span', {
          'data-field': 'learner',
          class: 'learner',
          title: 'a learner: receives the log, does not vote until promoted',
        });
        const fault = element('span', { 'data-field': 'fault', class: 'fault' });
        cell.removeAttribute('data-field');
        cell.append(label, learner, fault);
      }
      row.append(cell);
    }
    const actions = element('td', { class: 'demo-only actions' });
    for (const action of NODE_DEMO_ACTIONS) {
      const button = element(
        'button',
        { type: 'button', 'data-action': action, 'data-node': name, title: ACTION_TITLES[action] },
        action,
      );
      button.addEventListener('click', () => this.#onAction(action, name));
      actions.append(button);
    }
    for (const [action, title] of Object.entries(MEMBER_ACTION_TITLES)) {
      const button = element(
        'button',
        {
          type: 'button',
          class: 'member-only',
          'data-member-action': action,
          'data-node': name,
          title,
        },
        action,
      );
      button.addEventListener('click', () =>
        this.#onMemberAction(action as Exclude<MemberAction, 'add'>, name),
      );
      actions.append(button);
    }
    row.append(actions);
    this.#body.append(row);
    this.#rows.set(name, row);
    return row;
  }
}
