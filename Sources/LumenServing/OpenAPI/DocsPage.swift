/// `/docs`: the OpenAPI document rendered by a small script of Lumen's own (no CDN, no external files):
/// operations grouped by tag, each with its parameters, request and response schemas.
enum DocsPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>Lumen API</title><link rel="icon" href="data:,">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
    body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
    header{background:#14213d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.8}
    main{max-width:1100px;margin:0 auto;padding:18px 28px}h2{margin:28px 0 8px;text-transform:capitalize}
    details{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:6px 0}summary{cursor:pointer;padding:8px 12px;display:flex;gap:12px;align-items:center}
    .m{font:600 12px monospace;padding:2px 8px;border-radius:4px;color:#fff;min-width:52px;text-align:center}
    .get{background:#2f7ed8}.post{background:#2a9d5c}.put{background:#c88a12}.delete{background:#c0392b}.patch{background:#7d4cc2}
    code.p{font:14px monospace}.s{color:#556}.body{padding:4px 16px 12px}pre{background:#f1f3f6;padding:8px;border-radius:4px;overflow:auto;font-size:12px}
    input{font:inherit;padding:6px 10px;width:320px;border:1px solid #ccd;border-radius:4px}
    </style></head>
    <body><header><h1>Lumen API</h1><p id="info">loading /openapi.json …</p></header>
    <main><input id="q" placeholder="filter routes (e.g. infer, runs, traffic)" aria-label="filter routes"><div id="ops"></div></main>
    <script>
    const esc = s => String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
    function render(doc, filter) {
      const byTag = {};
      for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
        if (filter && !(path + ' ' + op.summary).toLowerCase().includes(filter)) continue;
        (byTag[op.tags[0]] = byTag[op.tags[0]] || []).push([path, method, op]);
      }
      const out = [];
      for (const t of doc.tags.map(t => t.name)) {
        if (!byTag[t]) continue;
        out.push('<h2>' + esc(t) + '</h2>');
        for (const [path, method, op] of byTag[t]) {
          const params = (op.parameters || []).map(p => '<li><code>' + esc(p.name) + '</code> (' + esc(p.in) + ') ' + esc(p.description || '') + '</li>').join('');
          out.push('<details class="op" data-path="' + esc(path) + '"><summary><span class="m ' + method + '">' + method.toUpperCase() + '</span><code class="p">' + esc(path) +
            '</code><span class="s">' + esc(op.summary) + '</span></summary><div class="body">' + (op.description ? '<p>' + esc(op.description) + '</p>' : '') +
            (params ? '<p>Parameters</p><ul>' + params + '</ul>' : '') +
            (op.requestBody ? '<p>Request body</p><pre>' + esc(JSON.stringify(op.requestBody.content, null, 2)) + '</pre>' : '') +
            '<p>Responses</p><pre>' + esc(JSON.stringify(op.responses, null, 2)) + '</pre></div></details>');
        }
      }
      document.getElementById('ops').innerHTML = out.join('');
    }
    fetch('/openapi.json').then(r => r.json()).then(doc => {
      document.getElementById('info').textContent = doc.info.description + ' (version ' + doc.info.version + ', OpenAPI ' + doc.openapi + ')';
      render(doc, '');
      document.getElementById('q').addEventListener('input', e => render(doc, e.target.value.toLowerCase()));
    }).catch(e => { document.getElementById('info').textContent = 'cannot load /openapi.json: ' + e; });
    </script></body></html>
    """
}
