/** Small DOM helpers shared by the pages. Text always goes in as text: names and messages may be hostile. */

/** A new element with properties set and children appended (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** Sets attributes that have no reflected property everywhere (aria-*, data-*, and all of SVG's). */
export function attrs<T extends Element>(node: T, values: Readonly<Record<string, string | number>>): T {
  for (const [name, value] of Object.entries(values)) node.setAttribute(name, String(value));
  return node;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A moment as local HH:MM, as people read a clock. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A moment as local HH:MM:SS, for what changes several times a second: minutes are too coarse. */
export function clockSeconds(ms: number): string {
  return `${clockTime(ms)}:${pad(new Date(ms).getSeconds())}`;
}

/** A duration in words: "45 s", "3 min", "1 h 05 min". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

/** Copies text, also where the Clipboard API is missing: it needs a secure context, and a classroom server on plain http is not one. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = Object.assign(document.createElement('textarea'), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}
