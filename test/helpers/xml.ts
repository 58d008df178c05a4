/**
 * A strict-enough XML well-formedness check for the SVG we write (Node has no XML parser):
 * one root element, every tag closed in order, attributes quoted and unique, only the five
 * predefined entities (or numeric ones), no stray '<' or '&' in text. Returns the element names
 * in document order, so tests can count them.
 */
export function parseXmlElements(xml: string): { name: string; attrs: Record<string, string> }[] {
  const elements: { name: string; attrs: Record<string, string> }[] = [];
  const open: string[] = [];
  let roots = 0;
  const checkText = (text: string, at: number) => {
    if (/<|&(?!(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text))
      throw new Error(
        `XML: bad character in text near offset ${at}: ${JSON.stringify(text.slice(0, 40))}`,
      );
  };
  const tag =
    /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    const next = xml.indexOf('<', i);
    const text = xml.slice(i, next < 0 ? xml.length : next);
    if (open.length === 0 && text.trim() !== '')
      throw new Error(`XML: text outside the root at ${i}`);
    checkText(text, i);
    if (next < 0) break;
    tag.lastIndex = next;
    const m = tag.exec(xml);
    if (!m) throw new Error(`XML: malformed tag at offset ${next}: ${xml.slice(next, next + 60)}`);
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      if (attrText.trim() || selfClosing) throw new Error(`XML: bad closing tag </${name}>`);
      const expected = open.pop();
      if (expected !== name) throw new Error(`XML: </${name}> closes <${expected}>`);
    } else {
      if (open.length === 0 && ++roots > 1) throw new Error('XML: more than one root element');
      const attrs: Record<string, string> = {};
      for (const a of attrText.matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1] in attrs) throw new Error(`XML: attribute ${a[1]} twice on <${name}>`);
        checkText(a[2] ?? a[3], next);
        attrs[a[1]] = a[2] ?? a[3];
      }
      elements.push({ name, attrs });
      if (!selfClosing) open.push(name);
    }
    i = tag.lastIndex;
  }
  if (open.length > 0) throw new Error(`XML: unclosed <${open.join('>, <')}>`);
  if (roots !== 1) throw new Error('XML: no root element');
  return elements;
}
