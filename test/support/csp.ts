/**
 * Whether a browser would load an HTML page's scripts, styles and icons under the page's
 * Content-Security-Policy header. No browser runs in the tests, so this reads the page the way CSP
 * does for the things these pages use: external and inline scripts, stylesheets, inline styles.
 */

export type CspDirectives = Map<string, string[]>;

export function parseCsp(header: string): CspDirectives {
  const directives: CspDirectives = new Map();
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

/** The sources of `directive`, falling back as CSP does (to default-src). */
function sourcesFor(csp: CspDirectives, directive: string, ...fallbacks: string[]): string[] {
  for (const name of [directive, ...fallbacks, 'default-src']) {
    const sources = csp.get(name);
    if (sources) return sources;
  }
  return ['*'];
}

function allowsUrl(sources: string[], url: string): boolean {
  if (sources.includes('*')) return true;
  if (/^(https?:)?\/\//i.test(url)) {
    const parsed = new URL(url.startsWith('//') ? `https:${url}` : url);
    return sources.some(
      (s) =>
        s === parsed.protocol || s === parsed.origin || s === `${parsed.protocol}//${parsed.host}`,
    );
  }
  if (url.startsWith('data:')) return sources.includes('data:');
  return sources.includes("'self'"); // relative: same origin
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag);
  return match ? (match[2] ?? match[3]) : undefined;
}

/** What the policy would block on this page; empty when everything loads. */
export function cspViolations(html: string, header: string): string[] {
  const csp = parseCsp(header);
  const problems: string[] = [];
  const scripts = sourcesFor(csp, 'script-src-elem', 'script-src');
  for (const tag of html.match(/<script\b[^>]*>/gi) ?? []) {
    const src = attribute(tag, 'src');
    const type = attribute(tag, 'type')?.toLowerCase();
    if (src !== undefined) {
      if (!allowsUrl(scripts, src))
        problems.push(`script ${src} is not allowed by ${scripts.join(' ')}`);
    } else if (type !== 'application/json' && !scripts.includes("'unsafe-inline'")) {
      problems.push(`an inline script would be blocked by ${scripts.join(' ')}`);
    }
  }
  const styles = sourcesFor(csp, 'style-src-elem', 'style-src');
  for (const tag of html.match(/<link\b[^>]*>/gi) ?? []) {
    const rel = attribute(tag, 'rel')?.toLowerCase() ?? '';
    const href = attribute(tag, 'href');
    if (href === undefined) continue;
    if (rel.split(/\s+/).includes('stylesheet') && !allowsUrl(styles, href))
      problems.push(`stylesheet ${href} is not allowed by ${styles.join(' ')}`);
    const images = sourcesFor(csp, 'img-src');
    if (rel.split(/\s+/).includes('icon') && !allowsUrl(images, href))
      problems.push(`icon ${href} is not allowed by ${images.join(' ')}`);
  }
  if (/<style\b/i.test(html) && !styles.includes("'unsafe-inline'"))
    problems.push(`a <style> element would be blocked by ${styles.join(' ')}`);
  const styleAttributes = sourcesFor(csp, 'style-src-attr', 'style-src');
  if (/\sstyle\s*=/i.test(html) && !styleAttributes.includes("'unsafe-inline'"))
    problems.push(`style attributes would be blocked by ${styleAttributes.join(' ')}`);
  return problems;
}

/** The same-origin script URLs of a page, resolved against `base` (a path ending in `/`). */
export function scriptUrls(html: string, base: string): string[] {
  return (html.match(/<script\b[^>]*>/gi) ?? [])
    .map((tag) => attribute(tag, 'src'))
    .filter((src): src is string => src !== undefined && !/^(https?:)?\/\//i.test(src))
    .map((src) => new URL(src, `http://app${base}`).pathname);
}
