// Sparklines of the last hour: one bar per minute (the view's minute buckets, oldest on the left), drawn
// into an <svg viewBox="0 0 120 30" preserveAspectRatio="none">.

const SVG_NS = 'http://www.w3.org/2000/svg';

export function drawBars(svg, values, max) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const n = values.length;
  if (n === 0) return;
  const top = Math.max(1, max);
  const step = 120 / n;
  const base = document.createElementNS(SVG_NS, 'line');
  base.setAttribute('x1', '0');
  base.setAttribute('x2', '120');
  base.setAttribute('y1', '29.8');
  base.setAttribute('y2', '29.8');
  base.setAttribute('class', 'base');
  svg.append(base);
  values.forEach((v, i) => {
    if (!(v > 0)) return;
    const h = Math.max(0.6, (v / top) * 28);
    const rect = document.createElementNS(SVG_NS, 'rect');
    rect.setAttribute('x', (i * step + step * 0.12).toFixed(2));
    rect.setAttribute('width', (step * 0.76).toFixed(2));
    rect.setAttribute('y', (30 - h).toFixed(2));
    rect.setAttribute('height', h.toFixed(2));
    if (i === n - 1) rect.setAttribute('class', 'last');
    svg.append(rect);
  });
}
