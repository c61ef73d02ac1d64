/** Tiny DOM helpers: the dashboard needs no UI library. */

/** Creates an HTML element with attributes and text. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, value);
  if (text !== undefined) created.textContent = text;
  return created;
}

const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes. */
export function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const created = document.createElementNS(SVG_NAMESPACE, tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, String(value));
  return created;
}

/** The element with `id`; throws if the page lacks it (a mismatch between shell and bundle). */
export function byId<T extends Element>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`dashboard page has no #${id}`);
  return found as unknown as T;
}

/** Sets `text` only when it changed, so unchanged cells are not re-laid out every update. */
export function setText(target: Element, text: string): void {
  if (target.textContent !== text) target.textContent = text;
}
