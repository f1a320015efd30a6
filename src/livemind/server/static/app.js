// livemind playground: speaks the live protocol (/v1/live) over a WebSocket.
"use strict";

const $ = (id) => document.getElementById(id);
const input = $("input");
const history = $("history");
const inferences = $("inferences");
const segmentsView = $("segments");
const settingsForm = $("settings");
const timeline = new TurnTimeline($("timeline"));
const settings = new SettingsPanel(settingsForm, $("session-settings"));
const eventTable = new EventTable();

const state = {
  ws: null,
  rev: 0,
  segments: [],       // stable segments of the current turn
  calls: new Map(),   // call_id -> <li>
  answers: new Map(), // "main" | "compare" -> answer element of the current turn
  retry: 500,
};

function tokenParam() {
  const token = localStorage.getItem("livemind-token") || "";
  return token ? `?token=${encodeURIComponent(token)}` : "";
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/v1/live${tokenParam()}`);
  state.ws = ws;
  setStatus("connecting", "connecting…");
  eventTable.load(`/v1/events${tokenParam()}`, ON.keys());
  ws.onopen = () => { state.retry = 500; };
  ws.onmessage = (msg) => handle(JSON.parse(msg.data));
  ws.onclose = () => {
    setStatus("offline", "disconnected — reconnecting");
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 8000);
  };
}

function send(event) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(event));
}

function setStatus(kind, text) {
  const el = $("status");
  el.dataset.state = kind;
  el.textContent = text;
}

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ----- the text as the model has read it ------------------------------------------------
function renderSegments() {
  segmentsView.replaceChildren();
  const stable = state.segments.join("");
  state.segments.forEach((text, i) => {
    segmentsView.append(el("span", `segment s${i % 2}`, text));
  });
  const rest = input.value.startsWith(stable) ? input.value.slice(stable.length) : "";
  if (rest) segmentsView.append(el("span", "tail", rest));
  segmentsView.hidden = !input.value;
}

// ----- events from the server -------------------------------------------------------------
// What the page does with each event, by name. The names are the server's (its event table,
// GET /v1/events): once loaded, a name here that the table lacks, or an event that arrives
// under a name the table lacks, is a console warning (the page and the server disagree).
const ON = new Map([
  ["session.created", (ev) => {
    setStatus("ready", `ready · ${ev.model}${ev.output_model ? " → " + ev.output_model : ""}`);
    settings.build(ev.schema || []);
    showSettings(ev.session, ev);
  }],
  ["session.updated", (ev) => showSettings(ev.session, null)],
  ["segment.committed", (ev) => {
    state.segments[ev.index] = ev.text;
    renderSegments();
  }],
  ["memory.invalidated", (ev) => {
    state.segments.length = Math.min(state.segments.length, ev.from_index);
    for (const li of state.calls.values()) {
      if (Number(li.dataset.end) > ev.from_index) li.classList.add("invalidated");
    }
    renderSegments();
  }],
  ["inference.started", (ev) => {
    const li = el("li", "inference running");
    li.dataset.end = ev.end;
    li.append(el("q", "", ev.segments.join("").trim()), el("div", "note", ""));
    inferences.append(li);
    state.calls.set(ev.call_id, li);
  }],
  ["inference.delta", (ev) => {
    const li = state.calls.get(ev.call_id);
    if (li) li.querySelector(".note").textContent += ev.delta;
  }],
  ["inference.done", (ev) => {
    const li = state.calls.get(ev.call_id);
    if (li) {
      li.classList.remove("running");
      li.classList.add("done", ev.action);
      li.querySelector(".note").textContent =
        ev.action === "wait" ? "(waits for more text)" : ev.content;
    }
  }],
  ["inference.cancelled", (ev) => {
    const li = state.calls.get(ev.call_id);
    if (li) { li.classList.remove("running"); li.classList.add("cancelled"); }
  }],
  ["inference.deferred", (ev) => {
    const li = state.calls.get(ev.call_id);
    if (!li) return;
    li.classList.remove("running");
    li.classList.add("deferred");
    li.querySelector(".note").textContent = ev.reason === "shed"
      ? "(skipped: the server is busy with other users' answers)"
      : "(paused for another user's answer; it runs again when the server has time)";
  }],
  ["speculation.started", () => showSpeculation("Answer started in your pause — press Enter to get it")],
  ["speculation.discarded", () => showSpeculation("Text changed: the early answer was dropped")],
  ["notes.paused", (ev) => {
    const p = $("speculation");
    p.hidden = false;
    p.textContent = `No notes: ${ev.reason}`;
  }],
  ["notes.resumed", () => {
    const p = $("speculation");
    p.hidden = true;
    p.textContent = "";
  }],
  ["history.trimmed", () => {
    toast("The conversation no longer fit the model's context: its oldest turn was dropped");
  }],
  ["response.created", (ev) => answerBox(ev.compare ? "compare" : "main", ev)],
  ["response.output_text.delta", (ev) => {
    const box = state.answers.get(ev.compare ? "compare" : "main");
    if (box) box.querySelector(".text").textContent += ev.delta;
  }],
  ["response.done", (ev) => finishAnswer(ev.compare ? "compare" : "main", ev)],
  ["response.cancelled", () => {
    const box = state.answers.get("main");
    if (box) box.querySelector(".meta").textContent = "cancelled";
  }],
  ["error", (ev) => {
    if (ev.code === "unauthorized") {
      setStatus("offline", "needs an access token (Settings)");
      settingsForm.hidden = false;
    }
    toast(`${ev.code}: ${ev.message}`);
  }],
]);

function handle(ev) {
  eventTable.check(ev.type);
  timeline.event(ev);
  const on = ON.get(ev.type);
  if (on) on(ev);
}

function showSpeculation(text) {
  const p = $("speculation");
  p.hidden = false;
  p.textContent = text;
}

function answerBox(which, ev) {
  let turn = history.lastElementChild;
  if (!turn || !turn.classList.contains("turn")) return;
  const box = el("div", `answer ${which}`);
  const mode = ev.answer_mode && ev.answer_mode !== "baseline" ? ` · ${ev.answer_mode} answer` : "";
  const label = which === "compare" ? "conventional baseline" : `livemind${mode}${ev.speculative ? " · started before Enter" : ""}`;
  box.append(el("div", "label", label), el("div", "text", ""), el("div", "meta", "answering…"));
  turn.querySelector(".answers").append(box);
  state.answers.set(which, box);
}

function seconds(x) {
  return x === null || x === undefined ? "–" : `${x.toFixed(2)} s`;
}

function finishAnswer(which, ev) {
  const box = state.answers.get(which);
  if (!box) return;
  const t = ev.timings || {};
  const u = ev.usage || {};
  const tokens = u.evaluated_tokens != null
    ? ` · prompt tokens evaluated ${u.evaluated_tokens} / cached ${u.cached_tokens ?? 0}` : "";
  const meta = box.querySelector(".meta");
  meta.textContent = `first token ${seconds(t.ttft_s)} · complete ${seconds(t.latency_s)}${tokens}`;
  meta.classList.add("latency");
}

function showSettings(cfg, created) {
  if (!cfg) return;
  settings.show(cfg);
  settingsForm.elements.collaborative.checked = !!cfg.collaborative;
  if (created) {
    settingsForm.elements.collaborative.disabled = !created.output_model;
    $("models").textContent = `Model: ${created.model}` +
      (created.output_model ? ` · output model: ${created.output_model}` : "");
  }
}

// ----- the user's side ----------------------------------------------------------------------
input.addEventListener("input", () => {
  state.rev += 1;
  send({ type: "input_text.set", text: input.value, rev: state.rev });
  timeline.key(input.value.length);
  renderSegments();
});

input.addEventListener("keydown", (e) => {
  if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
  e.preventDefault();
  const text = input.value;
  if (!text.trim()) return;
  send({ type: "input_text.commit", compare: $("compare").checked });
  timeline.commit($("compare").checked);
  startTurn(text);
  input.value = "";
  state.rev += 1;
  renderSegments();
});

function startTurn(text) {
  $("empty-note")?.remove();
  const turn = el("div", "turn");
  const thoughts = [...inferences.children].filter((li) => li.classList.contains("done"));
  turn.append(el("div", "question", text));
  if (thoughts.length) {
    const d = el("details", "notes");
    d.append(el("summary", "", `${thoughts.length} note${thoughts.length > 1 ? "s" : ""} taken while you typed`));
    const ol = el("ol");
    for (const li of thoughts) ol.append(el("li", "", li.querySelector(".note").textContent));
    d.append(ol);
    turn.append(d);
  }
  turn.append(el("div", "answers"));
  history.append(turn);
  history.scrollTop = history.scrollHeight;
  inferences.replaceChildren();
  state.calls.clear();
  state.segments = [];
  state.answers.clear();
  $("speculation").hidden = true;
}

settingsForm.addEventListener("change", (e) => {
  const f = e.target;
  if (f.id === "compare") return;
  if (f.id === "token") {
    localStorage.setItem("livemind-token", f.value);
    state.ws?.close();
    return;
  }
  send({ type: "session.update", session: { [f.name]: settings.value(f) } });
});
settingsForm.addEventListener("submit", (e) => e.preventDefault());

$("settings-toggle").addEventListener("click", () => {
  settingsForm.hidden = !settingsForm.hidden;
  $("settings-toggle").setAttribute("aria-expanded", String(!settingsForm.hidden));
});

$("reset").addEventListener("click", () => {
  send({ type: "session.reset" });
  timeline.reset();
  history.replaceChildren();
  inferences.replaceChildren();
  state.calls.clear();
  state.segments = [];
  input.value = "";
  renderSegments();
  input.focus();
});

window.addEventListener("resize", () => timeline.schedule());

$("token").value = localStorage.getItem("livemind-token") || "";
renderSegments();
connect();
