"""What the browser tests measure of legibility: text the reader cannot see whole. Each check returns a list of
readable findings (empty when everything shows in full)."""

from __future__ import annotations

# Streamlit's grids (st.dataframe) draw on a canvas, so their text is not laid out in the DOM: the column list
# (titles, widths) and row height come from the grid component's React props, the cell texts of the rows in
# view from the grid's accessibility table, and each text is measured in the grid's own font. A header or a
# cell is cut when its text is wider than its column (a cell may wrap over the lines its row height holds),
# and a column is cut when the columns together are wider than the grid (the last ones are off the right
# edge until the reader scrolls sideways).
GRID_TEXT = r"""() => {
  const out = [];
  const ctx = document.createElement('canvas').getContext('2d');
  for (const grid of document.querySelectorAll('[data-testid="stDataFrame"]')) {
    if (!grid.offsetParent) continue;  // in a hidden tab
    const canvas = grid.querySelector('canvas[data-testid="data-grid-canvas"]');
    if (!canvas) continue;
    const fiberKey = Object.keys(canvas).find(k => k.startsWith('__reactFiber'));
    let fiber = canvas[fiberKey], props = null;
    for (let depth = 0; fiber && depth < 80 && !props; depth++, fiber = fiber.return) {
      const p = fiber.memoizedProps;
      if (p && Array.isArray(p.columns) && p.columns.length && p.columns[0].width !== undefined) props = p;
    }
    if (!props) { out.push('a grid whose columns could not be read'); continue; }
    const columns = props.columns;
    const style = getComputedStyle(grid.querySelector('[style*="--gdg-header-font-style"]') || grid);
    const family = (style.getPropertyValue('--gdg-font-family') || 'sans-serif').trim();
    const headerFont = (style.getPropertyValue('--gdg-header-font-style') || '400 14px').trim() + ' ' + family;
    const cellFont = (style.getPropertyValue('--gdg-base-font-style') || '400 14px').trim() + ' ' + family;
    const pad = parseFloat(style.getPropertyValue('--gdg-cell-horizontal-padding')) || 8;
    const rowHeight = typeof props.rowHeight === 'number' ? props.rowHeight : 35;
    const lines = rowHeight > 64 ? Math.max(1, Math.floor((rowHeight - 6) / 18)) : 1;  // wraps above 4rem
    const scroller = grid.querySelector('.dvn-scroller');
    const room = scroller ? scroller.clientWidth : grid.clientWidth;
    const total = columns.reduce((sum, c) => sum + c.width, 0);
    // a grid as wide as its container shares the spare width among the columns that grow
    const growth = columns.reduce((sum, c) => sum + (c.grow || 0), 0);
    const spare = total < room && growth > 0 ? room - total : 0;
    const widthOf = c => Math.floor(c.width + spare * (c.grow || 0) / (growth || 1));
    const byTitle = new Map(columns.map(c => [(c.title || '').trim(), c]));
    ctx.font = headerFont;
    for (const c of columns) {
      const title = (c.title || '').trim();
      if (!title) continue;
      const need = Math.ceil(ctx.measureText(title).width + 2 * pad);
      if (need > widthOf(c)) out.push(`grid header '${title}': needs ${need} px, column is ${widthOf(c)} px`);
    }
    if (total > room + 1) {
      const titles = columns.map(c => c.title).filter(Boolean).join(', ');
      out.push(`grid [${titles}]: columns are ${total} px wide in ${room} px (the last ones are off the edge)`);
    }
    const titleAt = new Map(Array.from(canvas.querySelectorAll('th[aria-colindex]'))
                              .map(th => [th.getAttribute('aria-colindex'), th.textContent.trim()]));
    ctx.font = cellFont;
    for (const td of canvas.querySelectorAll('td[aria-colindex]')) {
      const title = titleAt.get(td.getAttribute('aria-colindex'));
      const c = byTitle.get(title);
      const text = td.textContent.trim();
      if (!c || !text || text === 'true' || text === 'false') continue;
      const room = widthOf(c) - 2 * pad;
      let used = 1, line = 0;  // greedy word wrap over the lines the row holds
      for (const word of text.split(/\s+/)) {
        const w = ctx.measureText((line ? ' ' : '') + word).width;
        if (line && line + w > room) { used += 1; line = ctx.measureText(word).width; } else line += w;
        if (line > room && lines === 1) used = 2;
      }
      if (used > lines) out.push(`grid column '${title}': '${text.slice(0, 60)}' needs ${used} line(s), `
                                 + `the row holds ${lines} in ${widthOf(c)} px`);
    }
  }
  return out;
}"""

# Text laid out in the DOM (widget labels, chosen values and tags of select boxes, tabs, buttons, links, metrics,
# expander titles, captions) of the main area and the sidebar: cut when a text line reaches past the box of an
# ancestor that clips its overflow (the selectbox value "Priority (safety, flags, risk, wai…").
DOM_TEXT = r"""() => {
  const out = [];
  const skip = '.js-plotly-plot, canvas, [data-testid="stCode"], pre, textarea, svg, [role="listbox"]';
  for (const root of document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]')) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      const el = node.parentElement;
      if (!text || !el || el.closest(skip) || !el.offsetParent) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const r = range.getBoundingClientRect();
      if (r.width === 0) continue;
      for (let a = el; a && a !== root; a = a.parentElement) {
        const s = getComputedStyle(a);
        const clips = ['hidden', 'clip'].includes(s.overflowX) || s.textOverflow === 'ellipsis';
        if (!clips) continue;
        const b = a.getBoundingClientRect();
        if (b.width <= 2 || b.height <= 2) break;  // visually hidden text for screen readers
        if (r.right > b.right + 1 || r.left < b.left - 1 || a.scrollWidth > a.clientWidth + 1 && a === el) {
          out.push(`'${text.slice(0, 70)}' (${Math.round(r.width)} px of text in a ${Math.round(b.width)} px `
                   + `${a.tagName.toLowerCase()})`);
          break;
        }
      }
    }
  }
  return out;
}"""

# Plotly charts: the title, axis titles, tick labels, legend entries and annotations must lie inside the chart's
# box and must not be shortened ("…").
PLOTLY_TEXT = r"""() => {
  const out = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    if (!plot.offsetParent) continue;
    const box = plot.getBoundingClientRect();
    const title = ((plot.querySelector('.gtitle') || {}).textContent || 'untitled chart').slice(0, 60);
    const texts = plot.querySelectorAll('.gtitle, .g-xtitle text, .g-ytitle text, .g-x2title text, .g-y2title text, '
                                        + '.xtick text, .ytick text, .legendtext, .annotation-text');
    for (const t of texts) {
      const label = (t.textContent || '').trim();
      if (!label) continue;
      const r = t.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        out.push(`chart '${title}': '${label.slice(0, 60)}' is outside the chart (${Math.round(r.left - box.left)}..`
                 + `${Math.round(r.right - box.left)} px of ${Math.round(box.width)} px)`);
      if (/(…|\.\.\.)$/.test(label)) out.push(`chart '${title}': '${label}' is shortened`);
    }
  }
  return out;
}"""


def cut_text(page) -> list[str]:
    """Every truncated grid header or cell, DOM label and chart text on the page as it is now (no repeats)."""
    found = page.evaluate(GRID_TEXT) + page.evaluate(DOM_TEXT) + page.evaluate(PLOTLY_TEXT)
    return list(dict.fromkeys(found))
