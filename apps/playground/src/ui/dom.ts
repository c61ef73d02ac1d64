/** Tiny DOM helpers: the playground uses plain elements, no framework. */

type Child = Node | string;

/** Creates an HTML element with attributes (`class`, `aria-*`, `data-*`, ...) and children. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, value);
  created.append(...children);
  return created;
}

const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes and children. */
export function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const created = document.createElementNS(SVG_NAMESPACE, tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, String(value));
  created.append(...children);
  return created;
}

/** A `<button type="button">` that runs `onClick`. */
export function button(
  label: string,
  onClick: () => void,
  attributes: Record<string, string> = {},
): HTMLButtonElement {
  const created = element('button', { type: 'button', ...attributes }, label);
  created.addEventListener('click', onClick);
  return created;
}

/** Sets `node`'s text only when it changed (keeps screen readers and selection calm). */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}
