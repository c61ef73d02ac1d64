/** The dashboard's HTML shell; the bundle (`assets/app.js`) fills it from the event stream. */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * The page at `/ui/`. Relative asset and stream URLs keep it working behind a path prefix.
 *
 * @param title shown in the tab and the heading.
 */
export function dashboardHtml(title: string): string {
  const safeTitle = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safeTitle}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/app.css">
<script type="module" src="assets/app.js"></script>
</head>
<body>
<header>
  <h1>${safeTitle}</h1>
  <span id="connection" class="badge" data-state="connecting">connecting</span>
  ${tabs('cluster')}
</header>
<main>
  <section class="summary">
    <div><span class="label">leader</span><strong id="leader">-</strong></div>
    <div><span class="label">generation</span><strong id="generation">-</strong></div>
    <div><span class="label">committed entries/s</span><strong id="throughput">-</strong></div>
  </section>
  <section>
    <h2>Nodes</h2>
    <table id="nodes">
      <thead>
        <tr>
          <th>node</th><th>role</th><th>generation</th><th>last index</th>
          <th title="highest index stored on a majority (commit index)">high-water mark</th>
          <th title="entries up to here are in a snapshot; the log is released up to the low-water mark, at or below it">snapshot index</th>
          <th>applied index</th><th>lag behind leader</th><th>heartbeat age</th>
          <th title="the leader's, or in quorum mode the peers' phi-accrual detectors">failure detector</th>
          <th title="quorum mode (no leader): keys, tombstones and the state hash, equal once anti-entropy converged">quorum replica</th>
          <th class="demo-only">demo</th>
        </tr>
      </thead>
      <tbody></tbody>
    </table>
    <p class="demo-only"><button type="button" id="heal"
      title="end every partition: links reconnect and cut-off nodes catch up">heal all partitions</button>
      <button type="button" id="add-member" class="member-only"
        title="add a member: it joins as a learner, catches up, then is promoted to a voter">add member</button>
      <span id="demo-message" role="status"></span></p>
  </section>
  <section>
    <h2>Write throughput</h2>
    <svg id="throughput-chart" viewBox="0 0 600 120" preserveAspectRatio="none" role="img"
      aria-label="committed entries per second"></svg>
    <p id="throughput-caption" class="caption"></p>
  </section>
  <section>
    <h2>Leader changes</h2>
    <svg id="timeline-strip" viewBox="0 0 600 40" preserveAspectRatio="none" role="img"
      aria-label="who led when"></svg>
    <ol id="timeline" reversed></ol>
  </section>
  <noscript>The dashboard needs JavaScript; the raw status is at /v1/cluster.</noscript>
</main>
</body>
</html>
`;
}

/**
 * The dashboard's tabs: this cluster, and the playground (a simulated cluster in the page). Relative
 * links, like the assets', so a path prefix in front of `/ui/` keeps working.
 */
function tabs(current: 'cluster' | 'playground'): string {
  const tab = (name: typeof current, href: string, label: string) =>
    `<a id="tab-${name}" href="${href}"${name === current ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<nav class="tabs" aria-label="dashboard tabs">${tab('cluster', './', 'Cluster')}${tab('playground', 'playground', 'Playground')}</nav>`;
}

/**
 * The Playground tab at `/ui/playground`: the docs site's cluster playground (real
 * `@x/leader-follower` members on `@x/simulation`'s virtual time), run entirely in the page from
 * `assets/playground.js`; it talks to no server, this cluster included.
 *
 * @param title shown in the tab and the heading.
 */
export function playgroundHtml(title: string): string {
  const safeTitle = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Playground · ${safeTitle}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/app.css">
<link rel="stylesheet" href="assets/playground.css">
<script type="module" src="assets/playground.js"></script>
</head>
<body>
<header>
  <h1>${safeTitle}</h1>
  ${tabs('playground')}
</header>
<main>
  <p class="caption">A simulated cluster in this page, not this kv-node cluster: three or five
  members running the real leader-follower code on virtual time. Crash, pause, partition and
  restart them, or pick a scenario; the address names the run, so a link replays it.</p>
  <section>
    <h2>Leader and followers</h2>
    <div id="playground-root"><p>The playground runs the simulator in this page and needs JavaScript.</p></div>
  </section>
  <section>
    <h2>Leaderless: consistency levels</h2>
    <div id="leaderless-root"><p>The leaderless scenarios run in this page and need JavaScript.</p></div>
  </section>
</main>
</body>
</html>
`;
}

/** The page shown when the bundle was not built, so the operator knows what to do. */
export function missingBundleHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dashboard not built</title></head>
<body><h1>The dashboard bundle is missing</h1>
<p>Build it with <code>pnpm --filter @x/kv-node build</code>. The raw status is at
<a href="/v1/cluster">/v1/cluster</a>.</p></body></html>
`;
}
