/** Tiny DOM helpers: element construction without a framework. */

type Child = Node | string | number | null | undefined | false;

/** Creates an element: `h("div", { class: "x", "data-testid": "y", onclick: fn }, child, ...)`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "class") el.className = String(v);
    else if (k === "value" && "value" in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Replaces an element's children. */
export function setChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))));
}

/** A labelled form control: `<label><span>text</span>control</label>`. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  return h("label", { class: "field", title: hint }, h("span", {}, label), control);
}

/** Parses whitespace/comma separated numbers; throws a one-line error naming `what` on a bad token. */
export function parseNumbers(text: string, what: string): number[] {
  const toks = text.split(/[\s,;[\]]+/).filter((t) => t !== "");
  return toks.map((t) => {
    const v = Number(t);
    if (!Number.isFinite(v)) throw new Error(`${what}: "${t}" is not a number`);
    return v;
  });
}
