// livemind playground: the turn's timeline, an SVG strip drawn from the events the page
// already receives (typing, model calls, Enter, the answer), in seconds from the turn's
// first key on the browser's clock. Only numbers and fixed words are drawn, never model
// text; every node is built with createElementNS and textContent.
"use strict";

const TL_NS = "http://www.w3.org/2000/svg";
const TL_LANES = ["typing", "thinking", "answer", "baseline"];
const TL_LABELS = { typing: "typing", thinking: "thinking", answer: "answer", baseline: "baseline" };
const TL_OUTCOMES = {
  note: "note kept", wait: "model waits", partial: "cancelled at Enter, note so far kept",
  cancelled: "cancelled", running: "running", done: "prefilled",
  deferred: "deferred: another user's answer came first",
};
const TL = { lane: 22, top: 6, axis: 20, left: 74, right: 210 };

class TurnTimeline {
  constructor(svg) {
    this.svg = svg;
    this.frame = 0;
    this.reset();
  }

  /** Forget the turn (the strip hides until the next key). */
  reset() {
    this.t0 = null;          // performance.now() in seconds at the first key
    this.keys = [];          // [seconds, characters in the box]
    this.segments = [];      // seconds of each segment.committed
    this.calls = new Map();  // call_id -> {kind, start, end, outcome}
    this.specs = [];         // discarded early answers: {start, end}
    this.spec = null;        // start of the running early answer
    this.enter = null;
    this.answers = {};       // main | compare -> {start, first, end, ttft, latency}
    this.expected = 0;       // answers to wait for after Enter
    this.finished = false;   // the turn's answers are in: the next key starts a new strip
    this.render();
  }

  now() { return performance.now() / 1000 - this.t0; }

  /** A keystroke: ``chars`` characters are in the box now. */
  key(chars) {
    if (this.finished) this.reset();
    if (this.enter !== null) return;  // typed while the answer streams: the next turn's text
    if (this.t0 === null) this.t0 = performance.now() / 1000;
    this.keys.push([this.now(), chars]);
    this.schedule();
  }

  /** Enter; ``compare``: the baseline answers too. */
  commit(compare) {
    if (this.t0 === null) this.t0 = performance.now() / 1000;
    this.enter = this.now();
    this.expected = compare ? 2 : 1;
    this.schedule();
  }

  /** One server event (wire format of docs/SERVER.md). */
  event(ev) {
    if (this.t0 === null || this.finished) return;
    const t = this.now();
    const [kind, what] = ev.type.split(".");
    if (ev.type === "segment.committed") {
      this.segments.push(t);
    } else if ((kind === "inference" || kind === "prewarm") && what === "started") {
      for (const c of this.calls.values()) if (c.end === null) c.end = t;  // one at a time
      this.calls.set(ev.call_id, { kind, start: t, end: null, outcome: "running" });
    } else if ((kind === "inference" || kind === "prewarm") && this.calls.has(ev.call_id)) {
      const c = this.calls.get(ev.call_id);
      if (what === "cancelled") {
        c.end = t;
        c.outcome = c.outcome === "partial" ? "partial" : "cancelled";
      } else if (what === "deferred") {
        c.end = t;
        c.outcome = "deferred";
      } else if (what === "done") {
        c.end = t;
        const partial = ev.record && ev.record.extra && ev.record.extra.partial;
        c.outcome = kind === "prewarm" ? "done" : partial ? "partial" : ev.action === "wait" ? "wait" : "note";
      }
    } else if (ev.type === "speculation.started") {
      this.spec = t;
    } else if (ev.type === "speculation.discarded" && this.spec !== null) {
      this.specs.push({ start: this.spec, end: t });
      this.spec = null;
    } else if (ev.type === "response.created" && this.enter !== null) {
      const start = ev.speculative && this.spec !== null ? this.spec : t;
      this.answers[ev.compare ? "compare" : "main"] = { start, first: null, end: null };
    } else if (ev.type === "response.output_text.delta") {
      const a = this.answers[ev.compare ? "compare" : "main"];
      if (a && a.first === null) a.first = t;
    } else if (ev.type === "response.done") {
      const a = this.answers[ev.compare ? "compare" : "main"];
      if (a) {
        a.end = t;
        const timings = ev.timings || {};
        a.ttft = typeof timings.ttft_s === "number" ? timings.ttft_s : null;
        a.latency = typeof timings.latency_s === "number" ? timings.latency_s : null;
      }
      this.expected -= 1;
      this.finished = this.expected <= 0;
    } else if ((ev.type === "response.cancelled" || ev.type === "error") && this.enter !== null) {
      for (const a of Object.values(this.answers)) if (a.end === null) a.end = t;
      this.finished = true;
    }
    this.schedule();
  }

  running() {
    const open = [...this.calls.values()].some((c) => c.end === null);
    return open || Object.values(this.answers).some((a) => a.end === null);
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
      if (this.running()) this.schedule();  // bars grow while calls run
    });
  }

  // ----- drawing ----------------------------------------------------------------------
  render() {
    const svg = this.svg;
    svg.replaceChildren();
    svg.parentElement.hidden = this.t0 === null;
    if (this.t0 === null) return;
    const width = Math.max(svg.clientWidth || 800, TL.left + TL.right + 100);
    const height = TL.top + TL_LANES.length * TL.lane + TL.axis;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("height", String(height));
    const now = this.now();
    const span = Math.max(this.lastTime(now) * 1.04, 1);
    const plot = width - TL.left - TL.right;
    const x = (t) => TL.left + (Math.max(0, t) / span) * plot;
    const y = (lane) => TL.top + TL_LANES.indexOf(lane) * TL.lane;
    this.axis(x, span, height);
    TL_LANES.forEach((lane) => this.add("text", { x: 4, y: y(lane) + 15, class: "tl-label" }, TL_LABELS[lane]));
    this.typing(x, y("typing"));
    for (const [id, c] of this.calls) {
      const end = c.end === null ? now : c.end;
      const thin = c.kind === "prewarm";
      const r = this.bar(x, c.start, end, y("thinking") + (thin ? 14 : 3), thin ? 5 : 10,
        `tl-call ${c.kind} ${c.outcome}`);
      r.dataset.callId = id;
      const what = c.kind === "prewarm" ? "prefill-only call" : "inference call";
      this.add("title", {}, `${what}: ${TL_OUTCOMES[c.outcome]}, ${(end - c.start).toFixed(2)} s`, r);
    }
    for (const s of this.specs) this.bar(x, s.start, s.end, y("thinking") + 3, 10, "tl-call speculation cancelled");
    if (this.enter !== null) {
      const line = this.add("line", { x1: x(this.enter), x2: x(this.enter), y1: TL.top - 4,
        y2: height - TL.axis, class: "tl-enter" });
      line.dataset.at = this.enter.toFixed(3);
      this.answer("answer", this.answers.main, x, y("answer"), now);
      this.answer("baseline", this.answers.compare, x, y("baseline"), now);
    }
    this.summary(width, y);
  }

  lastTime(now) {
    if (this.running() || (this.enter === null && !this.finished)) return now;
    let last = this.enter || 0;
    for (const [t] of this.keys) last = Math.max(last, t);
    for (const c of this.calls.values()) last = Math.max(last, c.end || 0);
    for (const a of Object.values(this.answers)) last = Math.max(last, this.ends(a, this.enter).end || 0);
    return last;
  }

  /** An answer's first token and end: once done, the server's timings from Enter (not
   * before ``start``, where the bar begins). */
  ends(a, start) {
    if (!a) return {};
    if (a.end !== null && a.latency != null && this.enter !== null) {
      const end = Math.max(this.enter + a.latency, start);
      const first = a.ttft != null ? Math.min(Math.max(this.enter + a.ttft, start), end) : null;
      return { first, end };
    }
    return { first: a.first, end: a.end };
  }

  answer(lane, a, x, top, now) {
    if (!a) return;
    // the baseline runs after LiveMind's answer: it is drawn as if it started at Enter
    const shift = lane === "baseline" ? a.start - this.enter : 0;
    const start = a.start - shift;
    let { first, end } = this.ends(a, start);
    if (a.latency == null) {  // still streaming: the browser's own times
      first = first === null ? null : first - shift;
      end = end === null ? null : end - shift;
    }
    const stop = end === null ? now - shift : end;
    if (start - this.enter >= 0.01) this.bar(x, this.enter, start, top + 3, 14, "tl-wait");
    const g = this.add("g", { class: lane === "baseline" ? "tl-baseline" : "tl-answer" });
    g.dataset.start = start.toFixed(3);
    g.dataset.end = stop.toFixed(3);
    if (first !== null) g.dataset.first = first.toFixed(3);
    this.bar(x, start, first === null ? stop : first, top + 3, 14, "tl-before", g);
    if (first !== null) {
      this.bar(x, first, stop, top + 3, 14, "tl-streaming", g);
      this.add("line", { x1: x(first), x2: x(first), y1: top + 1, y2: top + 19, class: "tl-first" }, undefined, g);
    }
  }

  typing(x, top) {
    if (!this.keys.length) return;
    const total = Math.max(...this.keys.map(([, n]) => n), 1);
    const base = top + 18;
    let d = `M ${x(0)} ${base}`;
    for (const [t, n] of this.keys) d += ` H ${x(t)} V ${base - (14 * n) / total}`;
    const last = this.enter !== null ? this.enter : this.now();
    d += ` H ${x(last)} V ${base} Z`;
    this.add("path", { d, class: "tl-typing" });
    for (const t of this.segments) {
      const tick = this.add("line", { x1: x(t), x2: x(t), y1: top + 2, y2: top + 20, class: "tl-segment" });
      tick.dataset.at = t.toFixed(3);
    }
  }

  axis(x, span, height) {
    const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300];
    const step = steps.find((s) => span / s <= 8) || 600;
    const y = height - TL.axis;
    this.add("line", { x1: x(0), x2: x(span), y1: y, y2: y, class: "tl-axis" });
    for (let t = 0; t <= span + 1e-9; t += step) {
      this.add("line", { x1: x(t), x2: x(t), y1: TL.top - 2, y2: y + 3, class: "tl-grid" });
      this.add("text", { x: x(t), y: y + 14, class: "tl-tick" }, `${Number(t.toFixed(1))} s`);
    }
  }

  summary(width, y) {
    const calls = [...this.calls.values()];
    const n = (kind) => calls.filter((c) => c.kind === kind).length;
    const deferred = calls.filter((c) => c.outcome === "deferred").length;
    const lines = {
      typing: this.keys.length ? `${this.keys[this.keys.length - 1][1]} characters` : "",
      thinking: deferred
        ? `${n("inference")} inference · ${n("prewarm")} prefill · ${deferred} deferred`
        : `${n("inference")} inference · ${n("prewarm")} prefill calls`,
      answer: this.latencyText(this.answers.main),
      baseline: this.answers.compare ? this.latencyText(this.answers.compare) : "(Settings: side by side)",
    };
    for (const lane of TL_LANES) {
      this.add("text", { x: width - TL.right + 8, y: y(lane) + 15, class: `tl-summary ${lane}` }, lines[lane]);
    }
  }

  latencyText(a) {
    if (!a) return this.enter === null ? "" : "waiting…";
    const fmt = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(2)} s`);
    if (a.latency != null) return `first token ${fmt(a.ttft)} · full ${fmt(a.latency)}`;
    const from = a === this.answers.compare ? a.start : this.enter;  // the baseline: its start
    const first = a.first === null ? null : a.first - from;
    return `first token ${fmt(first)} · ${a.end === null ? "streaming" : "full " + fmt(a.end - from)}`;
  }

  bar(x, start, end, top, h, cls, parent) {
    const left = x(start);
    const w = Math.max(x(end) - left, 2);  // a call shorter than 2 px still shows
    const r = this.add("rect", { x: left, y: top, width: w, height: h, class: cls }, undefined, parent);
    r.dataset.start = start.toFixed(3);
    r.dataset.end = end.toFixed(3);
    return r;
  }

  add(tag, attrs, text, parent) {
    const node = document.createElementNS(TL_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    (parent || this.svg).append(node);
    return node;
  }
}
