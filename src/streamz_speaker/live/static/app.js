// StreamZ live page: microphone -> WebSocket -> live timeline, speaking-time bars, names.
"use strict";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const $ = (id) => document.getElementById(id);
const state = { ws: null, ctx: null, stream: null, names: {}, blocks: [], events: 0 };
window.streamz = state;           // for tests and the curious

function color(id) { return COLORS[id % COLORS.length]; }
function label(id) { return state.names[id] ? state.names[id] : `Speaker ${id}`; }
function setStatus(text) { $("status").textContent = text; }

function socketUrl() {
  const url = new URL("/ws/session", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const token = new URLSearchParams(location.search).get("token");
  if (token) url.searchParams.set("token", token);
  return url.toString();
}

function drawTimeline() {
  const canvas = $("timeline"), g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (!state.blocks.length) return;
  const end = state.blocks[state.blocks.length - 1].t;
  const span = Math.max(30000, end);           // at least 30 s wide
  const x = (t) => canvas.width * t / span;
  for (const b of state.blocks) {
    g.fillStyle = color(b.id);
    g.fillRect(x(b.t - 500), 10, Math.max(1, x(500)), canvas.height - 20);
  }
}

function drawBars(times) {
  const max = Math.max(1, ...Object.values(times));
  const bars = $("bars");
  bars.innerHTML = "";
  for (const [id, ms] of Object.entries(times).sort((a, b) => a[0] - b[0])) {
    const row = document.createElement("div");
    row.className = "bar";
    row.dataset.speaker = id;
    row.innerHTML = `<span class="label"></span><span class="fill"></span><span class="ms"></span>`;
    row.querySelector(".label").textContent = label(id);
    row.querySelector(".fill").style.cssText = `width:${300 * ms / max}px;background:${color(id)}`;
    row.querySelector(".ms").textContent = `${(ms / 1000).toFixed(1)} s`;
    bars.appendChild(row);
  }
}

function onSpeaker(msg) {
  state.events += 1;
  const id = msg.currentSpeakerId;
  if (msg.currentSpeakerName !== undefined) state.names[id] = msg.currentSpeakerName;
  const current = $("current");
  current.textContent = label(id);
  current.dataset.speaker = String(id);
  current.style.background = color(id);
  current.style.color = "#fff";
  state.blocks.push({ t: msg.audioTimeMs ?? state.events * 500, id });
  if (state.blocks.length > 7200) state.blocks.shift();       // one hour at 0.5 s
  drawTimeline();
  drawBars(msg.speakingTimeMs);
}

function onReport(msg) {
  const rows = msg.speakers.map((s) =>
    `<tr><td>${s.id}</td><td>${s.name ?? ""}</td><td>${(s.totalTimeMs / 1000).toFixed(1)} s</td></tr>`);
  let html = `<table><tr><th>id</th><th>name</th><th>total</th></tr>${rows.join("")}</table>` +
    `<p>${msg.segments.length} turns.</p>`;
  if (msg.merged && Object.keys(msg.merged).length) {      // ids found to be one voice
    html += "<p>Merged: " + Object.entries(msg.merged).map(([a, b]) => `${a} → ${b}`)
      .join(", ") + "</p>";
  }
  if (msg.learned && msg.learned.length) {
    html += "<p>Learned: " + msg.learned.map((l) => `${l.id} → ${l.name}${l.new ? " (new)" : ""}`)
      .join(", ") + "</p>";
  }
  $("report").innerHTML = html;
  $("report").dataset.done = "1";
}

async function start() {
  $("start").disabled = true;
  setStatus("Opening the microphone…");
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    state.ctx = new AudioContext();
    await state.ctx.audioWorklet.addModule("/static/worklet.js");
  } catch (err) {
    setStatus(`Cannot use the microphone: ${err}`);
    $("start").disabled = false;
    return;
  }
  const ws = new WebSocket(socketUrl());
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => {
    const n = $("num-speakers").value;
    ws.send(JSON.stringify(n ? { action: "start", num_speakers: Number(n) } : { action: "start" }));
  };
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.event === "started") {
      const source = state.ctx.createMediaStreamSource(state.stream);
      const node = new AudioWorkletNode(state.ctx, "pcm16-sender");
      node.port.onmessage = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(m.data); };
      source.connect(node);
      setStatus(`Listening (${Math.round(state.ctx.sampleRate)} Hz microphone → 16 kHz).`);
      $("stop").disabled = false;
    } else if (msg.event === "speaker") onSpeaker(msg);
    else if (msg.event === "report") onReport(msg);
    else if (msg.event === "error") setStatus(`Server: ${msg.message}`);
  };
  ws.onclose = (e) => {
    release();
    if (e.code !== 1000) setStatus(`Connection closed (${e.code}) ${e.reason || ""}`);
    else setStatus("Session finished.");
    $("start").disabled = false;
    $("stop").disabled = true;
  };
}

function release() {
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  if (state.ctx) state.ctx.close();
  state.stream = state.ctx = null;
}

function stop() {
  $("stop").disabled = true;
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ action: "stop" }));
  setStatus("Stopping…");
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
