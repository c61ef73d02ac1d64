/**
 * GET /dashboard: one self-contained HTML page that polls `/v1/cluster` every second and shows
 * each member's role, generation, indexes, lag and heartbeat age. No build step, no dependencies.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>kv-node cluster</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; margin-top: 1rem; }
  th, td { padding: 0.35rem 0.8rem; border-bottom: 1px solid #ddd; text-align: left; }
  th { background: #f4f4f4; }
  .leader { font-weight: 600; color: #0a6; }
  .muted { color: #888; }
</style>
</head>
<body>
<h1>kv-node cluster</h1>
<div id="summary" class="muted">loading...</div>
<table>
  <thead><tr><th>member</th><th>id</th><th>role</th><th>match index</th><th>lag</th><th>last contact</th><th>client URL</th></tr></thead>
  <tbody id="members"></tbody>
</table>
<script>
  const cell = (text, className) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };
  async function refresh() {
    try {
      const status = await (await fetch('/v1/cluster')).json();
      document.getElementById('summary').textContent =
        'served by ' + status.name + ' (' + status.role + ') | generation ' + status.generation +
        ' | commit index ' + status.commit_index + ' | applied ' + status.applied_index +
        ' | revision ' + status.revision + ' | keys ' + status.keys;
      const rows = status.members.map((member) => {
        const tr = document.createElement('tr');
        const leader = member.id === status.leader_id;
        tr.append(
          cell(member.name, leader ? 'leader' : ''), cell(member.id, 'muted'),
          cell(leader ? 'leader' : member.role), cell(member.match_index ?? '-'),
          cell(member.lag ?? '-'),
          cell(member.last_contact_ago_ms == null ? '-' : member.last_contact_ago_ms + ' ms'),
          cell(member.client_urls.join(', ')));
        return tr;
      });
      document.getElementById('members').replaceChildren(...rows);
    } catch (error) {
      document.getElementById('summary').textContent = 'unreachable: ' + error;
    }
  }
  refresh();
  setInterval(refresh, 1000);
</script>
</body>
</html>
`;
