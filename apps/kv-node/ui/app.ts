/**
 * The dashboard page: renders each cluster view streamed by the node (or the local cluster
 * launcher) and, in demo mode, sends the fault-injection buttons' actions.
 */

import './dashboard.css';
import type { ClusterView, MemberAction, NodeDemoAction } from '../src/dashboard/cluster-view.js';
import { sendDemoAction, sendMemberAction } from './demo-client.js';
import { byId, setText } from './dom.js';
import { formatCount, formatRate } from './format.js';
import { renderLeaderTimeline } from './leader-timeline-view.js';
import { connectLiveStream } from './live-stream.js';
import { NodeTable } from './node-table.js';
import { renderThroughputChart } from './throughput-chart.js';

const connection = byId<HTMLElement>('connection');
const leader = byId<HTMLElement>('leader');
const generation = byId<HTMLElement>('generation');
const throughput = byId<HTMLElement>('throughput');
const message = byId<HTMLElement>('demo-message');
const chart = byId<SVGSVGElement>('throughput-chart');
const chartCaption = byId<HTMLElement>('throughput-caption');
const strip = byId<SVGSVGElement>('timeline-strip');
const timeline = byId<HTMLOListElement>('timeline');
const tableBody = byId<HTMLTableElement>('nodes').tBodies[0];
if (tableBody === undefined) throw new Error('dashboard page has no nodes table body');

async function perform(action: NodeDemoAction | 'heal', node?: string): Promise<void> {
  setText(message, `${action}${node === undefined ? '' : ` ${node}`}...`);
  message.dataset['ok'] = '';
  const result = await sendDemoAction(action, node);
  setText(message, result.message);
  message.dataset['ok'] = String(result.ok);
}

/** A membership change takes seconds (a learner catches up); one at a time, as the launcher allows. */
let memberChangeRunning = false;

async function changeMembers(action: MemberAction, node?: string): Promise<void> {
  if (memberChangeRunning) return;
  memberChangeRunning = true;
  document.body.classList.add('member-change-running');
  setText(message, `${action}${node === undefined ? ' member' : ` ${node}`}: in progress...`);
  message.dataset['ok'] = '';
  try {
    const result = await sendMemberAction(action, node);
    setText(message, result.message);
    message.dataset['ok'] = String(result.ok);
  } finally {
    memberChangeRunning = false;
    document.body.classList.remove('member-change-running');
  }
}

const table = new NodeTable(
  tableBody,
  (action, node) => void perform(action, node),
  (action, node) => void changeMembers(action, node),
);
byId<HTMLButtonElement>('heal').addEventListener('click', () => void perform('heal'));
byId<HTMLButtonElement>('add-member').addEventListener('click', () => void changeMembers('add'));

function render(view: ClusterView): void {
  document.body.classList.toggle('demo', view.demo);
  document.body.classList.toggle('members', view.memberChanges);
  setText(leader, view.leader ?? 'none');
  leader.dataset['leader'] = view.leader ?? '';
  const leaderRow = view.nodes.find((node) => node.name === view.leader);
  setText(generation, formatCount(leaderRow?.generation ?? null));
  setText(throughput, formatRate(view.entriesPerSecond));
  table.render(view);
  renderThroughputChart(chart, chartCaption, view.throughputHistory);
  renderLeaderTimeline(strip, timeline, view);
}

connectLiveStream({
  onView: render,
  onState(state) {
    connection.dataset['state'] = state;
    setText(connection, state);
  },
});
