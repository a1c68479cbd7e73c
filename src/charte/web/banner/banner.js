// Charte cookie banner. Served as /banner.js with the manifest's categories, services and texts as C.
// One <script src=".../banner.js"> tag on any site: no inline script or style needed on the host page.
// Whole-line comments and indentation are stripped when served; keep every statement ended by a semicolon.
((C) => {
  "use strict";
  const d = document;
  const me = d.currentScript;
  // Charte's address: where this script came from, so the host page configures nothing.
  const base = me ? me.src.replace(/\/banner\.js([?#].*)?$/, "") : "";
  const NAME = "charte_consent";
  const gpc = navigator.globalPrivacyControl === true;
  const optional = C.cats.filter((c) => !c.r).map((c) => c.k);
  const byKey = Object.fromEntries(C.cats.map((c) => [c.k, c]));
  const active = new Set();
  let lang = (d.documentElement.lang || "").slice(0, 2).toLowerCase();
  if (!C.t[lang]) lang = C.lang;
  const T = C.t[lang];
  let state = null;
  let sheet = null;
  let opener = null;

  const now = () => Math.floor(Date.now() / 1000);
  const h = (tag, attrs, kids) => {
    const e = d.createElement(tag);
    for (const k in attrs || {}) {
      if (attrs[k] != null && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    }
    (kids || []).forEach((c) => c != null && e.append(c));
    return e;
  };
  const newId = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replace(/\+/g, "-").replace(/\//g, "_").slice(0, 22);

  const read = () => {
    const m = d.cookie.match(/(?:^|; )charte_consent=([^;]*)/);
    try {
      return m ? JSON.parse(decodeURIComponent(m[1])) : null;
    } catch (e) {
      return null;
    }
  };
  const write = () => {
    d.cookie = NAME + "=" + encodeURIComponent(JSON.stringify(state)) + "; Max-Age=" + C.life +
      "; Path=/; SameSite=Lax" + (location.protocol == "https:" ? "; Secure" : "");
  };
  const decided = () => state && state.t && state.r == C.rev && now() - state.t < C.life;

  // Delete a category's known cookies; "_pk_id" also matches Matomo's "_pk_id.1.abcd".
  const purge = (cat) => {
    const names = (byKey[cat] || {}).ck || [];
    const parts = location.hostname.split(".");
    const domains = [""];
    for (let i = 0; i < parts.length - 1; i++) domains.push("; Domain=" + parts.slice(i).join("."));
    d.cookie.split("; ").forEach((pair) => {
      const n = pair.split("=")[0];
      if (!names.some((x) => n == x || n.startsWith(x + "."))) return;
      domains.forEach((dm) => ["/", location.pathname].forEach((p) => {
        d.cookie = n + "=; Max-Age=0; Path=" + p + dm;
      }));
    });
  };

  // Run the scripts the host page held back with type="text/plain" data-category="...".
  const run = () => {
    d.querySelectorAll('script[type="text/plain"][data-category]').forEach((s) => {
      const cat = s.getAttribute("data-category");
      if (!state.g.includes(cat)) return;
      const n = d.createElement("script");
      for (const a of s.attributes) if (a.name != "type") n.setAttribute(a.name, a.value);
      if (s.hasAttribute("src")) n.async = false;
      else n.text = s.text;
      active.add(cat);
      s.replaceWith(n);
    });
    d.dispatchEvent(new CustomEvent("charte:consent", {detail: {granted: state.g.slice()}}));
  };

  const send = (choices, method) => fetch(base + "/api/v1/consent", {
    method: "POST",
    keepalive: true,
    body: JSON.stringify({consent_id: state.i, choices: choices, banner_version: C.ver, lang: lang, gpc: gpc,
      method: method}),
  }).then((r) => r.ok ? r.json() : null).then((j) => {
    if (j) {
      state.v = j.version;
      write();
    }
  }).catch(() => null);

  // Another device or the privacy center may have changed these choices: the newest recorded ones win.
  const sync = () => fetch(base + "/api/v1/consent/" + state.i).then((r) => r.json()).then((j) => {
    if (j.version > (state.v || 0)) {
      const g = optional.filter((k) => k in j.choices ? j.choices[k] : state.g.includes(k));
      state.g.filter((k) => !g.includes(k)).forEach(purge);
      state.g = g;
      state.v = j.version;
      write();
    }
  }).catch(() => null);

  const decide = (granted, method) => {
    const before = decided() ? state.g : [];
    granted = granted.filter((k) => !(gpc && C.gpc.includes(k)));
    state = {i: state ? state.i : newId(), r: C.rev, t: now(), v: state ? state.v : 0, g: granted, p: gpc ? 1 : 0};
    write();
    const lost = before.filter((k) => !granted.includes(k));
    lost.forEach(purge);
    const choices = {};
    optional.forEach((k) => {
      choices[k] = granted.includes(k);
    });
    const sent = send(choices, method);
    // A tracker already running cannot be stopped: reload the page without it once the withdrawal is recorded.
    if (lost.some((k) => active.has(k))) sent.then(() => location.reload());
    else run();
  };

  const style = (root) => {
    if (root.adoptedStyleSheets && "replaceSync" in CSSStyleSheet.prototype) {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(C.css);
      }
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(h("link", {rel: "stylesheet", href: base + "/banner.css"}));
    }
  };

  const build = (panel) => {
    const names = optional.map((k) => T.c[k][0].charAt(0).toLowerCase() + T.c[k][0].slice(1)).join(", ");
    const status = h("p", {class: "x", role: "status"});
    const rows = C.cats.map((c) => {
      const locked = c.r || (gpc && C.gpc.includes(c.k));
      const on = c.r || (!locked && decided() && state.g.includes(c.k));
      const note = c.r ? T.always : locked ? T.gpc : null;
      return h("div", {class: "c"}, [
        h("input", {type: "checkbox", id: "k-" + c.k, value: c.k, checked: !!on, disabled: !!locked,
          "aria-describedby": "e-" + c.k}),
        h("label", {for: "k-" + c.k}, [T.c[c.k][0]]),
        note ? h("span", {class: "x"}, [" — " + note]) : null,
        h("div", {id: "e-" + c.k, class: "x"}, [
          h("p", {}, [T.c[c.k][1]]),
          h("ul", {}, c.svc.map((s, i) => h("li", {}, [
            h("strong", {}, [s[0]]), " (" + s[1] + ")" + T.colon + T.c[c.k][2][i] +
            (s[2].length ? " " + T.cookies + T.colon + s[2].join(", ") : ""),
          ]))),
        ]),
      ]);
    });
    const details = h("div", {id: "cp", hidden: !panel}, rows.concat([
      h("button", {type: "button", class: "m", "data-a": "s"}, [T.save]),
    ]));
    const box = h("div", {class: panel ? "b p" : "b", role: panel ? "region" : "dialog",
      "aria-labelledby": "ct", "aria-describedby": "cd", tabindex: panel ? null : "-1"}, [
      h("div", {class: "w"}, [
        h("h2", {id: "ct"}, [T.title]),
        // The privacy center's own page links to the policy itself, outside the shadow root.
        h("p", {id: "cd"}, [T.intro.replace("{org}", C.org).replace("{c}", names) + " ",
          panel ? null : h("a", {href: base + "/policy?lang=" + lang}, [T.policy])]),
        details,
        h("div", {class: "a"}, [
          h("button", {type: "button", class: "m", "data-a": "0"}, [T.reject]),
          h("button", {type: "button", class: "m", "data-a": "1"}, [T.accept]),
          panel ? null : h("button", {type: "button", class: "s", "data-a": "c", "aria-expanded": "false",
            "aria-controls": "cp"}, [T.custom]),
        ]),
        status,
      ]),
    ]);
    box.addEventListener("click", (e) => {
      const b = e.target.closest("button");
      const a = b && b.getAttribute("data-a");
      if (!a) return;
      if (a == "c") {
        details.hidden = !details.hidden;
        b.setAttribute("aria-expanded", String(!details.hidden));
        return;
      }
      const boxes = [...box.querySelectorAll("input:not([disabled])")];
      if (a != "s") boxes.forEach((i) => {
        i.checked = a == "1";
      });
      decide(boxes.filter((i) => i.checked).map((i) => i.value), panel ? "preferences" : "banner");
      if (panel) status.textContent = T.saved;
      else close();
    });
    return box;
  };

  const close = () => {
    const old = d.getElementById("charte-banner");
    if (old) old.remove();
    if (opener && opener.isConnected) opener.focus();
  };

  const show = (into) => {
    close();
    opener = d.activeElement;
    const host = into || d.body.appendChild(h("div", {id: "charte-banner"}));
    const root = host.shadowRoot || host.attachShadow({mode: "open"});
    root.replaceChildren();
    style(root);
    const box = build(!!into);
    root.append(box);
    if (!into) box.focus();
  };

  const start = () => {
    state = read();
    if (state && !Array.isArray(state.g)) state = null;
    if (gpc && (!state || !state.p || state.g.some((k) => C.gpc.includes(k)))) {
      // Global Privacy Control refuses advertising without asking; the consent API records it as a GPC event.
      state = state || {i: newId(), r: C.rev, t: 0, v: 0, g: []};
      state.g.filter((k) => C.gpc.includes(k)).forEach(purge);
      state.g = state.g.filter((k) => !C.gpc.includes(k));
      state.p = 1;
      write();
      send(Object.fromEntries(C.gpc.map((k) => [k, false])), "banner");
    }
    const panel = d.querySelector("[data-charte-panel]");
    if (panel) show(panel);
    else if (!decided()) show();
    if (decided()) sync().then(run);
    d.addEventListener("click", (e) => {
      if (e.target.closest && e.target.closest("[data-charte-open]")) {
        e.preventDefault();
        show();
        d.querySelector("#charte-banner").shadowRoot.querySelector("[data-a=c]").click();
      }
    });
  };

  window.Charte = {open: () => show(), granted: () => (decided() ? state.g.slice() : [])};
  if (d.readyState == "loading") d.addEventListener("DOMContentLoaded", start);
  else start();
})(__CONFIG__);
