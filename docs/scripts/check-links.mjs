#!/usr/bin/env node
// Checks every link of the built docs site (docs/site/, built by `pnpm run docs`), offline:
// - internal links (href and src in every HTML page, and the paths in typedoc's compressed
//   navigation and search data) must name a file of the site, and a #fragment must name an id
//   (or a name) in the target page;
// - external links are only checked for syntax (a parseable http(s) or mailto URL), never fetched,
//   so the check needs no network and cannot flake.
// Exits 1 and prints every broken link (page, link, why) if there is one.
//
// Usage: node docs/scripts/check-links.mjs [siteDirectory]   (default: docs/site)

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));

/** Every file under `directory`, as absolute paths. */
function walk(directory) {
  const files = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...walk(path));
    else files.push(path);
  }
  return files;
}

/** Undoes the HTML escapes typedoc writes into attribute values. */
function unescapeHtml(text) {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/** The ids and names a page defines, i.e. the fragments a link to it may use. */
function anchorsOf(html) {
  const anchors = new Set();
  for (const match of html.matchAll(/\s(?:id|name)="([^"]*)"/g))
    anchors.add(unescapeHtml(match[1]));
  return anchors;
}

/** The links of a page: every href and src attribute, except inside code blocks' text. */
function linksOf(html) {
  const links = [];
  for (const match of html.matchAll(/\s(href|src)="([^"]*)"/g)) links.push(unescapeHtml(match[2]));
  return links;
}

/** typedoc stores navigation and search data as base64 of deflated JSON in a JS file. */
function decodeTypedocData(file) {
  const text = readFileSync(file, 'utf8');
  const match = /=\s*"([^"]+)"/.exec(text);
  if (match === null) throw new Error(`${file}: no embedded data found`);
  return JSON.parse(inflateSync(Buffer.from(match[1], 'base64')).toString('utf8'));
}

function navigationPaths(nodes, paths = []) {
  for (const node of nodes) {
    if (typeof node.path === 'string') paths.push(node.path);
    if (Array.isArray(node.children)) navigationPaths(node.children, paths);
  }
  return paths;
}

/**
 * Checks the site and returns the problems found and how much was checked.
 *
 * @param {string} siteDirectory - the built site.
 * @returns {{ problems: string[], pages: number, internal: number, external: number }}
 */
export function checkSite(siteDirectory) {
  const root = resolve(siteDirectory);
  if (!existsSync(join(root, 'index.html'))) {
    return {
      problems: [`${root}/index.html does not exist: build the site first (pnpm run docs)`],
      pages: 0,
      internal: 0,
      external: 0,
    };
  }
  const files = walk(root);
  const pages = files.filter((file) => file.endsWith('.html'));
  const anchorCache = new Map();
  const anchors = (file) => {
    let set = anchorCache.get(file);
    if (set === undefined) {
      set = anchorsOf(readFileSync(file, 'utf8'));
      anchorCache.set(file, set);
    }
    return set;
  };
  const problems = [];
  let internal = 0;
  let external = 0;

  const checkInternal = (fromPage, fromDirectory, link) => {
    internal += 1;
    const hashAt = link.indexOf('#');
    const pathPart = (hashAt === -1 ? link : link.slice(0, hashAt)).split('?')[0];
    const fragment = hashAt === -1 ? '' : link.slice(hashAt + 1);
    let target = pathPart === '' ? fromPage : resolve(fromDirectory, decodeURIComponent(pathPart));
    if (target !== root && !target.startsWith(root + sep)) {
      problems.push(`${relative(root, fromPage)}: ${link} points outside the site`);
      return;
    }
    if (existsSync(target) && statSync(target).isDirectory()) target = join(target, 'index.html');
    if (!existsSync(target)) {
      problems.push(
        `${relative(root, fromPage)}: ${link} -> missing file ${relative(root, target)}`,
      );
      return;
    }
    if (fragment === '' || !target.endsWith('.html')) return;
    if (target.endsWith('.svg')) return;
    const id = decodeURIComponent(fragment);
    if (!anchors(target).has(id)) {
      problems.push(
        `${relative(root, fromPage)}: ${link} -> no id "${id}" in ${relative(root, target)}`,
      );
    }
  };

  const checkExternal = (fromPage, link) => {
    external += 1;
    let url;
    try {
      url = new URL(link);
    } catch {
      problems.push(`${relative(root, fromPage)}: ${link} is not a valid URL`);
      return;
    }
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname === '') {
      problems.push(`${relative(root, fromPage)}: ${link} has no host`);
    } else if (!['http:', 'https:', 'mailto:'].includes(url.protocol)) {
      problems.push(`${relative(root, fromPage)}: ${link} uses an unexpected scheme`);
    } else if (/\s/.test(link)) {
      problems.push(`${relative(root, fromPage)}: ${link} contains white space`);
    }
  };

  for (const page of pages) {
    const html = readFileSync(page, 'utf8');
    for (const link of linksOf(html)) {
      // href="" and href="#" are typedoc's own script-driven controls.
      if (link === '' || link === '#') continue;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) checkExternal(page, link);
      else checkInternal(page, dirname(page), link);
    }
  }

  // Navigation and search results are rendered by script from these paths (relative to the root).
  const index = join(root, 'index.html');
  const navigation = join(root, 'assets', 'navigation.js');
  if (existsSync(navigation)) {
    for (const path of navigationPaths(decodeTypedocData(navigation))) {
      checkInternal(index, root, path);
    }
  }
  const search = join(root, 'assets', 'search.js');
  if (existsSync(search)) {
    for (const row of decodeTypedocData(search).rows) checkInternal(index, root, row.url);
  }
  return { problems, pages: pages.length, internal, external };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const site = process.argv[2] ?? join(here, '..', 'site');
  const { problems, pages, internal, external } = checkSite(site);
  for (const problem of problems) console.error(`broken link: ${problem}`);
  console.log(
    `check-links: ${pages} pages, ${internal} internal links, ${external} external links ` +
      `(syntax only), ${problems.length} broken`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}
