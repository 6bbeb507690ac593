import Foundation
import Mustache

/// The web UI's templates (Mustache), compiled once. Every page is server-rendered; the only script is a
/// small one for chart smoothing and for MLflow's `#/experiments/…` links. No file is fetched from
/// elsewhere: the style sheet is inline, so pages work on a hospital network with no internet.
enum UITemplates {
    static let style = """
    :root{--fg:#17202c;--muted:#4d5a6a;--line:#d5dbe3;--accent:#1f5fa8;--bg:#fff;--soft:#f3f6fa;--bad:#a4261e;--ok:#1d6b35}
    *{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
    header{display:flex;gap:24px;align-items:center;padding:10px 24px;background:#12324f;color:#fff}
    header a{color:#fff;text-decoration:none;font-weight:600}header a:focus,header a:hover{text-decoration:underline}
    header .brand{font-size:18px;margin-right:12px}main{padding:20px 24px;max-width:1400px}
    a{color:var(--accent)}a:focus{outline:2px solid var(--accent);outline-offset:2px}
    h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:24px 0 8px}
    table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
    th{background:var(--soft);font-weight:600;white-space:nowrap}th.num{text-align:right}th a{color:var(--fg)}td.num{text-align:right}
    form.inline{display:flex;gap:8px;flex-wrap:wrap;align-items:flex-end;margin:8px 0 16px}
    label{display:flex;flex-direction:column;font-size:13px;color:var(--muted)}
    input,select,button{font:inherit;padding:6px 8px;border:1px solid #8a96a6;border-radius:4px;color:var(--fg);background:#fff}
    button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}button:focus{outline:2px solid #000}
    .muted{color:var(--muted)}.pill{display:inline-block;padding:1px 8px;border-radius:10px;background:var(--soft);border:1px solid var(--line);font-size:13px;margin:1px}
    .status-FINISHED{color:var(--ok)}.status-FAILED,.status-KILLED{color:var(--bad)}
    .charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}figcaption{font-size:13px;color:var(--muted)}
    .error{color:var(--bad);font-weight:600}.pager{margin:12px 0}
    """

    static let header = """
    <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
    <title>{{title}} · Lumen</title><link rel="icon" href="data:,"><style>{{{style}}}</style></head><body>
    <header><a class="brand" href="/ui/experiments">Lumen</a><nav aria-label="main"><a href="/ui/experiments">Experiments</a> &nbsp; <a href="/ui/models">Models</a> &nbsp; <a href="/ui/datasets">Datasets</a> &nbsp; <a href="/docs">API</a></nav>{{#role}}<span class="muted" style="margin-left:auto;color:#cfe0f2">role: {{role}}</span>{{/role}}</header>
    <main id="main">
    """

    static let footer = """
    </main></body></html>
    """

    static let home = """
    {{> header}}
    <h1>Lumen</h1>
    <p>Experiments, runs and registered models of this store.</p>
    <ul><li><a href="/ui/experiments">Experiments</a></li><li><a href="/ui/models">Models</a></li></ul>
    <script>
    // MLflow's links (#/experiments/1, #/experiments/1/runs/RUN, #/models/NAME) land on the matching page.
    (function(){var h=location.hash||"";var m;
    if((m=h.match(/^#\\/experiments\\/([^\\/?]+)\\/runs\\/([^\\/?]+)/))){location.replace("/ui/runs/"+encodeURIComponent(m[2]));}
    else if((m=h.match(/^#\\/experiments\\/([^\\/?]+)/))){location.replace("/ui/experiments/"+encodeURIComponent(m[1]));}
    else if((m=h.match(/^#\\/models\\/([^\\/?]+)/))){location.replace("/ui/models/"+encodeURIComponent(m[1]));}})();
    </script>
    {{> footer}}
    """

    static let experiments = """
    {{> header}}
    <h1>Experiments</h1>
    <table><caption class="muted" style="text-align:left">{{count}} experiments</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">Created</th><th scope="col">Tags</th></tr></thead><tbody>
    {{#experiments}}<tr><td><a href="/ui/experiments/{{id}}">{{name}}</a></td><td>{{id}}</td><td>{{created}}</td><td>{{#tags}}<span class="pill">{{.}}</span>{{/tags}}</td></tr>{{/experiments}}
    </tbody></table>
    {{> footer}}
    """

    static let runs = """
    {{> header}}
    <h1>{{experiment}} <span class="muted">(experiment {{experimentID}})</span></h1>
    <form class="inline" method="get" action="/ui/experiments/{{experimentID}}" role="search">
    <label for="filter">Filter (MLflow search language)<input id="filter" name="filter" size="60" value="{{filter}}" placeholder="metrics.val_auc > 0.9 and params.lr = '0.01'"></label>
    <label for="metrics">Metric columns<input id="metrics" name="metrics" size="24" value="{{metricColumns}}"></label>
    <label for="params">Param columns<input id="params" name="params" size="24" value="{{paramColumns}}"></label>
    <input type="hidden" name="order" value="{{order}}"><button type="submit">Apply</button></form>
    {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
    <table id="runs"><caption class="muted" style="text-align:left">{{shown}} runs on this page{{#order}}, ordered by {{order}}{{/order}}</caption>
    <thead><tr>{{#columns}}<th scope="col"><a href="{{sortLink}}" aria-label="sort by {{label}}">{{label}}{{arrow}}</a></th>{{/columns}}</tr></thead><tbody>
    {{#rows}}<tr>{{#cells}}<td class="{{cls}}">{{#link}}<a href="{{link}}">{{text}}</a>{{/link}}{{^link}}{{text}}{{/link}}</td>{{/cells}}</tr>{{/rows}}
    </tbody></table>
    <p class="pager">{{#next}}<a id="next-page" href="{{next}}">Next page →</a>{{/next}} {{#compare}}<a id="compare" href="{{compare}}">Compare the first runs of this page</a>{{/compare}}</p>
    {{> footer}}
    """

    static let run = """
    {{> header}}
    <h1>{{name}} <span class="muted">run {{runID}}</span></h1>
    <p><span class="status-{{status}}">{{status}}</span> · experiment <a href="/ui/experiments/{{experimentID}}">{{experimentID}}</a> · started {{started}} · {{duration}}</p>
    <h2>Metrics</h2>
    {{#hasCharts}}<form class="inline" onsubmit="return false"><label for="smoothing">Smoothing <input id="smoothing" type="range" min="0" max="0.95" step="0.05" value="0" aria-describedby="smoothing-help"></label>
    <label for="zoom">Zoom: skip the first part <input id="zoom" type="range" min="0" max="0.9" step="0.05" value="0"></label>
    <label for="xaxis">Horizontal axis <select id="xaxis"><option value="step">step</option><option value="time">wall time</option></select></label></form>
    <p id="smoothing-help" class="muted">Smoothing: an exponential moving average of each chart; zoom drops the first share of the points; the axis is the step or the time logged.</p>{{/hasCharts}}
    <div class="charts">{{#charts}}<figure><svg viewBox="0 0 {{width}} {{height}}" width="{{width}}" height="{{height}}" role="img" aria-label="{{key}} by step" data-values="{{values}}" data-steps="{{steps}}" data-times="{{times}}" class="chart">
    <rect x="40" y="10" width="{{plotWidth}}" height="{{plotHeight}}" fill="#f8fafc" stroke="#d5dbe3"/>
    <polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{{points}}"/>
    <text x="4" y="16" font-size="11">{{max}}</text><text x="4" y="{{bottom}}" font-size="11">{{min}}</text><text x="40" y="{{axis}}" font-size="11">step {{firstStep}}</text><text x="{{right}}" y="{{axis}}" font-size="11" text-anchor="end">{{lastStep}}</text></svg>
    <figcaption>{{key}}: last {{last}} ({{count}} points)</figcaption></figure>{{/charts}}</div>
    <table><thead><tr><th scope="col">Metric</th><th scope="col">Last value</th><th scope="col">Step</th></tr></thead><tbody>{{#metrics}}<tr><td>{{key}}</td><td class="num">{{value}}</td><td class="num">{{step}}</td></tr>{{/metrics}}</tbody></table>
    <h2>Parameters</h2>
    <table><thead><tr><th scope="col">Parameter</th><th scope="col">Value</th></tr></thead><tbody>{{#params}}<tr><td>{{key}}</td><td>{{value}}</td></tr>{{/params}}</tbody></table>
    <h2>Tags</h2>
    <table><thead><tr><th scope="col">Tag</th><th scope="col">Value</th></tr></thead><tbody>{{#tags}}<tr><td>{{key}}</td><td>{{value}}</td></tr>{{/tags}}</tbody></table>
    <h2>Artifacts</h2>
    {{#artifacts}}<details{{#open}} open{{/open}}><summary><a href="/ui/runs/{{runID}}/artifact?path={{query}}">{{path}}</a> <span class="muted">{{size}}</span></summary>
    {{#image}}<img src="/ui/runs/{{runID}}/artifact?path={{query}}" alt="{{path}}" style="max-width:480px">{{/image}}{{#text}}<pre style="white-space:pre-wrap;max-height:320px;overflow:auto;background:#f8fafc;padding:8px">{{text}}</pre>{{/text}}</details>{{/artifacts}}
    {{^artifacts}}<p class="muted">No artifact.</p>{{/artifacts}}
    <h2>Registered versions</h2>
    {{#versions}}<p><a href="/ui/models/{{name}}">{{name}} version {{version}}</a> {{#aliases}}<span class="pill">@{{.}}</span>{{/aliases}}</p>{{/versions}}{{^versions}}<p class="muted">No model version comes from this run.</p>{{/versions}}
    <script>
    (function(){var s=document.getElementById("smoothing"),zoom=document.getElementById("zoom"),axis=document.getElementById("xaxis");if(!s)return;
    function draw(){var a=parseFloat(s.value),skip=parseFloat(zoom.value),useTime=axis.value==="time";document.querySelectorAll("svg.chart").forEach(function(svg){
    var v=svg.dataset.values.split(",").map(Number),x=(useTime?svg.dataset.times:svg.dataset.steps).split(",").map(Number),n=v.length;if(!n)return;
    var out=[],z=v[0];for(var i=0;i<n;i++){z=a*z+(1-a)*v[i];out.push(z);}
    var from=Math.min(n-2,Math.floor(skip*n));if(from<0)from=0;out=out.slice(from);x=x.slice(from);var raw=v.slice(from);
    var lo=Math.min.apply(null,raw),hi=Math.max.apply(null,raw);if(hi<=lo)hi=lo+1;var x0=Math.min.apply(null,x),x1=Math.max.apply(null,x);if(x1<=x0)x1=x0+1;
    var w=svg.viewBox.baseVal.width-50,h=svg.viewBox.baseVal.height-40;
    svg.querySelector("polyline").setAttribute("points",out.map(function(y,i){return (40+(x[i]-x0)/(x1-x0)*w).toFixed(1)+","+(10+(1-(y-lo)/(hi-lo))*h).toFixed(1);}).join(" "));});}
    s.addEventListener("input",draw);zoom.addEventListener("input",draw);axis.addEventListener("change",draw);})();
    </script>
    {{> footer}}
    """

    static let models = """
    {{> header}}
    <h1>Registered models</h1>
    <table><thead><tr><th scope="col">Model</th><th scope="col">Latest version</th><th scope="col">Aliases</th><th scope="col">Updated</th></tr></thead><tbody>
    {{#models}}<tr><td><a href="/ui/models/{{name}}">{{name}}</a></td><td class="num">{{latest}}</td><td>{{#aliases}}<span class="pill">{{.}}</span>{{/aliases}}</td><td>{{updated}}</td></tr>{{/models}}
    </tbody></table>
    {{> footer}}
    """

    static let model = """
    {{> header}}
    <h1>{{name}}</h1>
    {{#description}}<p>{{description}}</p>{{/description}}
    {{#message}}<p role="status" class="{{messageClass}}">{{message}}</p>{{/message}}
    <table id="versions"><thead><tr><th scope="col">Version</th><th scope="col">Aliases</th><th scope="col">Created</th><th scope="col">From run</th><th scope="col">Architecture</th><th scope="col">Monitoring</th></tr></thead><tbody>
    {{#versions}}<tr><td class="num">{{version}}</td><td>{{#aliases}}<span class="pill">@{{.}}</span>{{/aliases}}</td><td>{{created}}</td><td>{{#runID}}<a href="/ui/runs/{{runID}}">{{runID}}</a>{{/runID}}</td><td>{{architecture}}</td><td>{{#reference}}reference profile{{/reference}} {{#gate}}input gate{{/gate}} {{#challenge}}challenged{{/challenge}}</td></tr>{{/versions}}
    </tbody></table>
    {{#served}}<p><a href="/ui/predict/{{name}}">Predict an image with {{name}}</a></p>{{/served}}
    {{#monitored}}<p><a href="/ui/models/{{name}}/monitor">Monitoring: drift, embeddings and alerts of the last 7 days</a></p>{{/monitored}}
    {{#lineage}}<h2>Lineage of version {{version}}</h2>
    <p id="lineage">{{#datasets}}<a href="/ui/datasets/{{dataset}}/{{datasetVersion}}">dataset {{dataset}}:{{short}}</a> ({{context}}) → {{/datasets}}{{#runID}}<a href="/ui/runs/{{runID}}">run {{runShort}}</a> → {{/runID}}version {{version}}{{#aliases}} <span class="pill">@{{.}}</span>{{/aliases}}{{#servedVersion}} → served here{{/servedVersion}}</p>{{/lineage}}
    {{#hasEvaluations}}<h2>Evaluation reports</h2>{{/hasEvaluations}}
    {{#hasEvaluations}}<table id="evaluations"><thead><tr><th scope="col">Version</th><th scope="col">Dataset</th><th scope="col">Split</th><th scope="col">When</th><th scope="col" class="num">ROC-AUC</th><th scope="col" class="num">Accuracy</th><th scope="col">Report</th></tr></thead><tbody>{{/hasEvaluations}}
    {{#evaluations}}<tr><td>{{model}}</td><td>{{dataset}}</td><td>{{split}}</td><td>{{when}}</td><td class="num">{{auc}}</td><td class="num">{{accuracy}}</td><td><a href="/ui/runs/{{runID}}/artifact?path=evaluation/report.html">report</a> · <a href="/ui/runs/{{runID}}">run</a></td></tr>{{/evaluations}}
    {{#hasEvaluations}}</tbody></table>{{/hasEvaluations}}
    {{#card}}<h2>Model card</h2><pre style="white-space:pre-wrap;background:#f8fafc;padding:8px">{{card}}</pre>{{/card}}
    {{#admin}}<h2>Move an alias</h2>
    <form class="inline" method="post" action="/ui/models/{{name}}/alias"><label for="alias">Alias<input id="alias" name="alias" required pattern="[A-Za-z0-9_\\-]+" value="champion"></label>
    <label for="version">Version<select id="version" name="version">{{#versions}}<option value="{{version}}">{{version}}</option>{{/versions}}</select></label><button type="submit">Move</button></form>{{/admin}}
    {{^admin}}<p class="muted">Moving an alias needs an admin token.</p>{{/admin}}
    {{> footer}}
    """

    static let compare = """
    {{> header}}
    <h1>Compare {{count}} runs</h1>
    <table><thead><tr><th scope="col">Run</th>{{#paramKeys}}<th scope="col">{{.}}</th>{{/paramKeys}}{{#metricKeys}}<th scope="col">{{.}}</th>{{/metricKeys}}</tr></thead><tbody>
    {{#rows}}<tr><td><span class="pill" style="border-color:{{color}};border-width:2px">{{name}}</span> <a href="/ui/runs/{{runID}}">{{runID}}</a></td>{{#cells}}<td class="{{cls}}">{{text}}</td>{{/cells}}</tr>{{/rows}}
    </tbody></table>
    {{#parallel}}<h2>Parallel coordinates</h2>
    <figure><svg id="parallel" viewBox="0 0 {{width}} {{height}}" width="{{width}}" height="{{height}}" role="img" aria-label="parallel coordinates of parameters and metrics">
    {{#axes}}<line x1="{{x}}" x2="{{x}}" y1="20" y2="{{bottom}}" stroke="#8a96a6"/><text x="{{x}}" y="14" font-size="11" text-anchor="middle">{{label}}</text><text x="{{x}}" y="{{below}}" font-size="10" text-anchor="middle">{{low}}</text><text x="{{x}}" y="30" font-size="10" text-anchor="middle" dy="-2">{{high}}</text>{{/axes}}
    {{#lines}}<polyline fill="none" stroke="{{color}}" stroke-width="2" stroke-opacity="0.8" points="{{points}}"><title>{{name}}</title></polyline>{{/lines}}
    </svg><figcaption>one line per run; each axis spans the runs' range</figcaption></figure>{{/parallel}}
    <h2>Metrics</h2>
    <div class="charts">{{#charts}}<figure><svg viewBox="0 0 360 200" width="360" height="200" role="img" aria-label="{{key}} of each run by step" class="overlay">
    <rect x="40" y="10" width="310" height="160" fill="#f8fafc" stroke="#d5dbe3"/>{{#series}}<polyline fill="none" stroke="{{color}}" stroke-width="2" points="{{points}}"><title>{{name}}</title></polyline>{{/series}}
    <text x="4" y="16" font-size="11">{{max}}</text><text x="4" y="170" font-size="11">{{min}}</text></svg><figcaption>{{key}}</figcaption></figure>{{/charts}}</div>
    {{> footer}}
    """

    static let datasets = """
    {{> header}}
    <h1>Datasets</h1>
    <table><thead><tr><th scope="col">Dataset</th><th scope="col">Version</th><th scope="col">Created</th><th scope="col">Task</th><th scope="col">Files</th><th scope="col">Classes</th><th scope="col">Parent</th></tr></thead><tbody>
    {{#versions}}<tr><td>{{name}}</td><td><a href="/ui/datasets/{{name}}/{{id}}">{{short}}</a></td><td>{{created}}</td><td>{{task}}</td><td class="num">{{files}}</td><td>{{classes}}</td><td>{{parent}}</td></tr>{{/versions}}
    </tbody></table>
    {{> footer}}
    """

    static let dataset = """
    {{> header}}
    <h1>{{name}} <span class="muted">version {{id}}</span></h1>
    <p>{{task}} · {{files}} files · created {{created}}{{#parent}} · parent <a href="/ui/datasets/{{name}}/{{parent}}">{{parentShort}}</a>{{/parent}}</p>
    <h2>Class balance per split</h2>
    <table id="balance"><thead><tr><th scope="col">Split</th>{{#classes}}<th scope="col">{{.}}</th>{{/classes}}<th scope="col">Total</th></tr></thead><tbody>
    {{#splits}}<tr><td>{{split}}</td>{{#counts}}<td class="num">{{.}}</td>{{/counts}}<td class="num">{{total}}</td></tr>{{/splits}}</tbody></table>
    <h2>Changes</h2>
    <form class="inline" method="get" action="/ui/datasets/{{name}}/{{id}}"><label for="diff">Compare with version<select id="diff" name="diff">{{#others}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{short}} ({{created}})</option>{{/others}}</select></label><button type="submit">Show changes</button></form>
    {{#diff}}<p id="diff-summary">From {{fromShort}} to this version: {{added}} added, {{removed}} removed, {{relabelled}} relabelled, {{modified}} modified, {{resplit}} moved to another split.</p>
    <table id="diff-table"><thead><tr><th scope="col">Change</th><th scope="col">File</th><th scope="col">Detail</th></tr></thead><tbody>{{#rows}}<tr><td>{{kind}}</td><td>{{path}}</td><td>{{detail}}</td></tr>{{/rows}}</tbody></table>{{/diff}}
    <h2>Validation</h2>
    {{^validation}}<p><a id="validate" href="/ui/datasets/{{name}}/{{id}}?validate=1">Validate this version</a> <span class="muted">(reads every image: unreadable files, duplicates, leakage between splits, sizes, modalities)</span></p>{{/validation}}
    {{#validation}}<p id="validation-summary" class="{{cls}}">{{summary}}</p>
    <table id="validation"><thead><tr><th scope="col">Finding</th><th scope="col">Detail</th></tr></thead><tbody>{{#findings}}<tr><td>{{kind}}</td><td>{{detail}}</td></tr>{{/findings}}</tbody></table>{{/validation}}
    <h2>Images</h2><p class="muted">The first {{shownCount}} images (DICOM in its own window, others from their 1st to 99th percentile); pixels only, no header field.</p>
    <div class="charts">{{#thumbs}}<figure><img src="/ui/datasets/{{name}}/{{id}}/thumbnail/{{sha}}" width="96" height="96" alt="{{label}}: {{path}}" loading="lazy"><figcaption>{{label}} · {{split}}</figcaption></figure>{{/thumbs}}</div>
    {{> footer}}
    """

    static let predict = """
    {{> header}}
    <h1>Predict with {{name}}</h1>
    {{^served}}<p class="error" role="alert">{{name}} is not served by this server (lumen serve --model {{name}}@ALIAS).</p>{{/served}}
    {{#served}}<form id="predict-form" class="inline"><label for="file">A DICOM, NIfTI, PNG, JPEG or TIFF image<input id="file" name="file" type="file" required></label>
    <label for="explain"><span>Grad-CAM</span><input id="explain" type="checkbox" checked></label><button type="submit">Predict</button></form>
    <p id="drop" style="border:2px dashed #8a96a6;padding:24px;text-align:center" tabindex="0">or drop an image here</p>
    <div id="result" role="status" aria-live="polite"></div>
    <div id="viewer" hidden><h2>The image</h2><form class="inline" onsubmit="return false"><label for="preset">Window<select id="preset">
    <option value="auto">auto (1st–99th percentile)</option><option value="file">the file's own</option><option value="lung">lung (−600/1500)</option><option value="mediastinum">mediastinum (50/350)</option>
    <option value="bone">bone (400/1800)</option><option value="brain">brain (40/80)</option><option value="abdomen">abdomen (40/400)</option><option value="liver">liver (60/160)</option>
    <option value="soft-tissue">soft tissue (50/400)</option><option value="subdural">subdural (75/215)</option><option value="stroke">stroke</option></select></label></form>
    <img id="slice" alt="the uploaded image's middle slice in the chosen window" style="max-width:512px"></div>
    <script>
    (function(){var form=document.getElementById("predict-form"),out=document.getElementById("result"),drop=document.getElementById("drop");
    function esc(s){return String(s).replace(/[&<>"]/g,function(c){return {"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c];});}
    var current=null,preset=document.getElementById("preset"),slice=document.getElementById("slice");
    function show(){if(!current)return;fetch("/ui/render?window="+encodeURIComponent(preset.value),{method:"POST",body:current,credentials:"same-origin"}).then(function(r){if(!r.ok)throw new Error("HTTP "+r.status);return r.blob();})
    .then(function(b){if(slice.src)URL.revokeObjectURL(slice.src);slice.src=URL.createObjectURL(b);document.getElementById("viewer").hidden=false;}).catch(function(){document.getElementById("viewer").hidden=true;});}
    preset.addEventListener("change",show);
    function send(file){if(!file)return;current=file;document.getElementById("viewer").hidden=true;out.textContent="predicting…";var fd=new FormData();fd.append("file",file,file.name);
    var url="/api/predict/{{name}}"+(document.getElementById("explain").checked?"?explain=gradcam":"");
    fetch(url,{method:"POST",body:fd,credentials:"same-origin"}).then(function(r){return r.json().then(function(j){return [r.status,j];});}).then(function(a){
    var s=a[0],j=a[1];if(s!==200){out.innerHTML='<p class="error">'+esc(j.error||j.message||("HTTP "+s))+'</p>';return;}show();
    var p=(j.predictions||[])[0]||{},h="<p>"+esc(j.model)+" version "+esc(j.version)+" · <strong id='label'>"+esc(p.label||(p.findings||[]).join(", "))+"</strong> · "+esc(j.latency_ms)+" ms</p><table><thead><tr><th scope='col'>Class</th><th scope='col'>Probability</th></tr></thead><tbody>";
    var probs=p.probabilities||{};Object.keys(probs).forEach(function(k){h+="<tr><td>"+esc(k)+"</td><td class='num'>"+Number(probs[k]).toFixed(4)+"</td></tr>";});h+="</tbody></table>";
    var g=p.gradcam_png_base64;if(g){h+='<figure><img id="gradcam" alt="Grad-CAM heat map over the input" src="data:image/png;base64,'+g+'" width="256"><figcaption>Grad-CAM</figcaption></figure>';}
    out.innerHTML=h;}).catch(function(e){out.innerHTML='<p class="error">'+esc(e)+'</p>';});}
    form.addEventListener("submit",function(e){e.preventDefault();send(document.getElementById("file").files[0]);});
    drop.addEventListener("dragover",function(e){e.preventDefault();});drop.addEventListener("drop",function(e){e.preventDefault();send(e.dataTransfer.files[0]);});})();
    </script>{{/served}}
    {{> footer}}
    """

    static let login = """
    {{> header}}
    <h1>Sign in</h1>
    <p>This server requires an API token (<code>lumen token create --role reader|writer|admin</code>).</p>
    {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
    <form class="inline" method="post" action="/ui/login"><label for="token">API token<input id="token" name="token" type="password" size="70" required autocomplete="off"></label>
    <input type="hidden" name="next" value="{{next}}"><button type="submit">Sign in</button></form>
    {{> footer}}
    """

    static let notFound = """
    {{> header}}
    <h1>Not found</h1><p class="error" role="alert">{{message}}</p><p><a href="/ui/experiments">Experiments</a></p>
    {{> footer}}
    """

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in [("header", header), ("footer", footer), ("home", home), ("experiments", experiments), ("runs", runs), ("run", run),
                             ("models", models), ("model", model), ("login", login), ("notFound", notFound),
                             ("compare", compare), ("datasets", datasets), ("dataset", dataset), ("predict", predict)] {
            do { try library.register(text, named: name) } catch { fatalError("UI template \(name): \(error)") }
        }
        return library
    }()

    /// A page: the template with the shared style.
    static func render(_ name: String, _ context: [String: Any]) -> String {
        var c = context
        c["style"] = style
        return library.render(c, withTemplate: name) ?? "template \(name) failed"
    }
}
