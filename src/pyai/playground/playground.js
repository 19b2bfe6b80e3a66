// The PyAI playground: one Omni call from this page (docs/omni-protocol.md).
//
// Access: a session token from POST /playground/session when the server has a playground key
// (then /playground/agents and /playground/voices fill the pickers), or from POST /v1/omni/sessions
// with an API key pasted into the page (then /v1/agents and /v1/voices do). A pasted key wins.
// Audio: one AudioContext at the socket's rate; the microphone goes through an AudioWorklet that
// posts 20 ms PCM16 frames, and the agent's PCM16 is scheduled back to back on the context's clock
// (flushed on `interruption`). What happened is kept on `window.playground` for tests and debugging.
"use strict";

(() => {
  const RATE = 24000;
  const FRAME_MS = 20;
  const LEAD_S = 0.08; // how far ahead of the clock agent audio starts after a gap (network jitter)
  const MAX_EVENTS = 5000;

  const state = {
    ready: false, // the pickers are loaded (or failed to): the page can connect
    serverKey: false, // this server mints tokens itself (POST /playground/session)
    pickers: null, // whose agents and voices the pickers show: "server" or "key"
    mode: null, // "server" or "key": how the current call's token was obtained
    connected: false,
    closed: false,
    closeCode: null,
    sessionId: null,
    callId: null,
    events: [], // every JSON event received, in order
    transcript: [], // {role: "caller"|"agent", text, final, id, latencyMs?, interrupted?}
    tools: [], // {call_id, name, kind, arguments, status?, result?, error?}
    latencies: [], // ms from a caller.final to the first agent audio of the next turn
    agentAudioMs: 0, // agent audio actually played out (not flushed)
    agentAudioReceivedMs: 0,
    micFramesSent: 0,
    interruptions: 0,
    error: null,
  };
  window.playground = state;

  const $ = (id) => document.getElementById(id);
  let call = null; // the current call's resources: {ws, ctx, mic, node, playing, playHead, ...}
  let voices = [];
  const lines = new WeakMap(); // transcript entry -> its <p> (kept off the state, which stays plain data)

  // ---- HTTP ---------------------------------------------------------------------------------

  function pastedKey() {
    return $("api-key").value.trim();
  }

  async function api(path, { method = "GET", body, key } = {}) {
    const headers = {};
    if (key) headers.Authorization = "Bearer " + key;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      const detail = (data && (data.detail || (data.error && data.error.message))) || text || resp.statusText;
      const err = new Error(`${method} ${path}: ${resp.status} ${detail}`);
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  function listAgents() {
    const key = pastedKey();
    return key ? api("/v1/agents?limit=100", { key }) : api("/playground/agents");
  }

  function listVoices() {
    const key = pastedKey();
    return key ? api("/v1/voices", { key }) : api("/playground/voices");
  }

  async function mintToken(agentId) {
    const key = pastedKey();
    if (key) {
      state.mode = "key";
      const body = { allowed_origins: [location.origin], ttl_seconds: 60 };
      if (agentId) body.session_label = agentId;
      return api("/v1/omni/sessions", { method: "POST", body, key });
    }
    if (!state.serverKey) throw new Error("Paste an API key with the omni:session scope first.");
    state.mode = "server";
    return api("/playground/session", { method: "POST", body: agentId ? { agent_id: agentId } : {} });
  }

  // ---- pickers ------------------------------------------------------------------------------

  function fillSelect(select, items, first) {
    select.replaceChildren(first);
    for (const [value, label] of items) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      select.append(option);
    }
  }

  async function loadPickers() {
    const source = pastedKey() ? "key" : "server";
    const agentSelect = $("agent");
    const voiceSelect = $("voice");
    const agents = await listAgents();
    fillSelect(
      agentSelect,
      (agents.data || []).map((a) => [a.agent_id, a.name ? `${a.name} (${a.agent_id})` : a.agent_id]),
      agentSelect.options[0],
    );
    try {
      voices = (await listVoices()).data || [];
    } catch (e) {
      voices = [];
      note("system", `voices: ${e.message}`);
    }
    fillSelect(
      voiceSelect,
      voices.map((v) => [v.voice_id, [v.name || v.voice_id, v.gender, v.region].filter(Boolean).join(" · ")]),
      voiceSelect.options[0],
    );
    showVoice();
    state.pickers = source;
  }

  function showVoice() {
    const voice = voices.find((v) => v.voice_id === $("voice").value);
    const card = $("voice-card");
    card.hidden = !voice;
    if (!voice) return;
    const avatar = $("voice-avatar");
    avatar.hidden = !voice.avatar_url;
    if (voice.avatar_url) avatar.src = voice.avatar_url;
    $("voice-bio").textContent = voice.bio || voice.tone || "";
    const preview = $("voice-preview");
    preview.hidden = !voice.preview_url;
    if (voice.preview_url) preview.src = voice.preview_url;
    else preview.removeAttribute("src");
  }

  async function init() {
    try {
      await loadPickers();
      state.serverKey = true;
      $("key-mode").textContent =
        "This server lends the playground its own key: just connect, or paste your own API key to use that.";
    } catch (e) {
      if (e.status !== 404) note("error", e.message);
      $("key-mode").textContent =
        "Paste an API key with the omni:session scope (it stays in this page), then load the pickers.";
    }
    state.ready = true;
  }

  // ---- transcript ---------------------------------------------------------------------------

  function line(pane, cls, text) {
    const p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    $(pane).append(p);
    $(pane).scrollTop = $(pane).scrollHeight;
    return p;
  }

  function note(kind, text) {
    line("tools", kind === "error" ? "error" : kind, text);
  }

  function callerLine(id) {
    let entry = state.transcript.find((t) => t.role === "caller" && t.id === id);
    if (!entry) {
      entry = { role: "caller", id, text: "", final: false };
      lines.set(entry, line("transcript", "caller partial", ""));
      state.transcript.push(entry);
    }
    return entry;
  }

  function agentLine(turnId) {
    let entry = state.transcript.find((t) => t.role === "agent" && t.id === turnId);
    if (!entry) {
      entry = { role: "agent", id: turnId, text: "", final: false };
      lines.set(entry, line("transcript", "agent", ""));
      state.transcript.push(entry);
    }
    return entry;
  }

  function render(entry) {
    const el = lines.get(entry);
    const who = entry.role === "caller" ? "You" : "Agent";
    el.className = entry.role === "agent" ? "agent" : entry.final && !entry.ignored ? "caller" : "caller partial";
    el.textContent = `${who}: ${entry.text}`;
    if (entry.ignored) el.textContent += ` [ignored: ${entry.ignored}]`;
    if (entry.interrupted) el.textContent += " [interrupted]";
    if (entry.latencyMs !== undefined) {
      const span = document.createElement("span");
      span.className = "latency";
      span.textContent = `${Math.round(entry.latencyMs)} ms`;
      el.append(span);
    }
  }

  // ---- audio --------------------------------------------------------------------------------

  function playAgentAudio(data) {
    const c = call;
    let bytes = new Uint8Array(data);
    if (c.carry) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = c.carry[0];
      joined.set(bytes, 1);
      bytes = joined;
      c.carry = null;
    }
    if (bytes.length % 2) {
      c.carry = bytes.slice(-1);
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const n = bytes.length / 2;
    if (!n) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
    const buffer = c.ctx.createBuffer(1, n, RATE);
    buffer.copyToChannel(samples, 0);
    const source = c.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(c.ctx.destination);
    const now = c.ctx.currentTime;
    if (c.playHead < now + 0.01) c.playHead = now + LEAD_S; // first chunk, or the queue ran dry
    source.start(c.playHead);
    c.playHead += buffer.duration;
    c.playing.add(source);
    state.agentAudioReceivedMs += buffer.duration * 1000;
    source.onended = () => {
      if (c.playing.delete(source)) state.agentAudioMs += buffer.duration * 1000;
    };
  }

  function flushPlayback() {
    if (!call) return;
    for (const source of call.playing) {
      call.playing.delete(source); // before stop(): a flushed chunk does not count as played
      try {
        source.stop();
      } catch (e) {
        // never started: nothing to stop
      }
    }
    call.playHead = 0;
  }

  async function startMicrophone(ctx) {
    if (!navigator.mediaDevices || !ctx.audioWorklet) {
      throw new Error("The microphone needs a secure page: open the playground over https or on localhost.");
    }
    await ctx.audioWorklet.addModule("/playground/capture-worklet.js");
    const mic = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const node = new AudioWorkletNode(ctx, "pyai-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { frameMs: FRAME_MS },
    });
    ctx.createMediaStreamSource(mic).connect(node);
    node.connect(ctx.destination); // silent; keeps the node rendered
    return { mic, node };
  }

  // ---- the call -----------------------------------------------------------------------------

  function onEvent(event) {
    state.events.push(event);
    if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
    switch (event.type) {
      case "session.ready":
        state.sessionId = event.session_id;
        state.callId = event.call_id;
        setStatus(`Connected (${event.agent_id || "no agent"}, voice ${event.voice})`);
        note("system", `session ${event.session_id}, call ${event.call_id}`);
        break;
      case "caller.partial": {
        const entry = callerLine(event.utterance_id);
        if (!entry.final) {
          entry.text = event.text;
          render(entry);
        }
        break;
      }
      case "caller.final": {
        const entry = callerLine(event.utterance_id);
        entry.text = event.text;
        entry.final = true;
        if (event.ignored) entry.ignored = event.ignored;
        else if (event.text) call.finalAt = performance.now(); // this turn's latency starts here
        render(entry);
        break;
      }
      case "agent.text": {
        const entry = agentLine(event.turn_id);
        entry.text = entry.text ? `${entry.text} ${event.text}` : event.text;
        render(entry);
        break;
      }
      case "agent.audio_start":
        call.awaitingFirstAudio = event.turn_id;
        break;
      case "agent.audio_end":
        agentLine(event.turn_id).final = true;
        break;
      case "interruption": {
        flushPlayback();
        state.interruptions += 1;
        const entry = agentLine(event.turn_id);
        entry.interrupted = true;
        entry.heardText = event.heard_text;
        render(entry);
        break;
      }
      case "tool_call":
        state.tools.push({ call_id: event.call_id, name: event.name, kind: event.kind, arguments: event.arguments });
        note("tool", `→ ${event.name}(${JSON.stringify(event.arguments)}) [${event.kind}]`);
        if (event.kind === "client") {
          // The playground runs no client tools: say so now rather than make the agent wait.
          send({ type: "tool_result", call_id: event.call_id, error: "the playground does not run client tools" });
        }
        break;
      case "tool_result": {
        const tool = state.tools.find((t) => t.call_id === event.call_id);
        if (tool) Object.assign(tool, { status: event.status, result: event.result, error: event.error });
        note("tool", `← ${event.name} ${event.status}: ${JSON.stringify(event.result ?? event.error)}`);
        break;
      }
      case "transfer":
        note("system", `transfer to ${event.to}: ${event.reason || ""}`);
        break;
      case "usage":
        note("system", `usage: ${event.seconds} s`);
        break;
      case "error":
        note("error", `${event.code}: ${event.message}`);
        if (event.fatal) state.error = `${event.code}: ${event.message}`;
        break;
      case "call.ended":
        note("system", `call ended: ${event.reason} after ${event.duration_ms} ms`);
        break;
      default:
        break; // the protocol only grows: ignore what this page does not know
    }
  }

  function onAudio(data) {
    if (call.awaitingFirstAudio !== null) {
      const turnId = call.awaitingFirstAudio;
      call.awaitingFirstAudio = null;
      if (call.finalAt !== null) {
        const ms = performance.now() - call.finalAt;
        state.latencies.push({ turn_id: turnId, ms });
        call.finalAt = null;
        const entry = agentLine(turnId);
        entry.latencyMs = ms;
        render(entry);
      }
    }
    playAgentAudio(data);
  }

  function send(frame) {
    if (call && call.ws.readyState === WebSocket.OPEN) call.ws.send(JSON.stringify(frame));
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  function socketUrl(agentId) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ format: "pcm16", rate: String(RATE) });
    if (agentId) query.set("session_label", agentId);
    return `${scheme}://${location.host}/v1/omni?${query}`;
  }

  async function connect() {
    if (call) return;
    $("connect").disabled = true;
    state.error = null;
    state.closed = false;
    state.closeCode = null;
    setStatus("Connecting…");
    const agentId = $("agent").value;
    const voice = $("voice").value;
    const ctx = new AudioContext({ sampleRate: RATE });
    call = { ws: null, ctx, mic: null, node: null, playing: new Set(), playHead: 0, carry: null };
    call.finalAt = null;
    call.awaitingFirstAudio = null;
    try {
      await ctx.resume();
      Object.assign(call, await startMicrophone(ctx));
      const session = await mintToken(agentId);
      const ws = new WebSocket(socketUrl(agentId), ["pyai-key." + session.token]);
      ws.binaryType = "arraybuffer";
      call.ws = ws;
      let open = false;
      ws.onopen = () => {
        if (voice) ws.send(JSON.stringify({ type: "configure", voice }));
        open = true;
        state.connected = true;
        $("hangup").disabled = false;
        setStatus("Connected");
      };
      call.node.port.onmessage = (e) => {
        if (open && ws.readyState === WebSocket.OPEN) {
          ws.send(e.data);
          state.micFramesSent += 1;
        }
      };
      ws.onmessage = (e) => {
        if (typeof e.data === "string") onEvent(JSON.parse(e.data));
        else onAudio(e.data);
      };
      ws.onclose = (e) => {
        state.closeCode = e.code;
        if (e.code !== 1000 && !state.error) state.error = `closed ${e.code} ${e.reason}`;
        teardown(`Disconnected (${e.code})`);
      };
    } catch (e) {
      state.error = e.message;
      note("error", e.message);
      teardown("Not connected");
    }
  }

  function teardown(status) {
    const c = call;
    if (!c) return;
    flushPlayback();
    call = null;
    state.connected = false;
    state.closed = true;
    if (c.mic) for (const track of c.mic.getTracks()) track.stop();
    if (c.node) c.node.port.onmessage = null;
    if (c.ws && c.ws.readyState <= WebSocket.OPEN) c.ws.close();
    c.ctx.close().catch(() => {});
    $("connect").disabled = false;
    $("hangup").disabled = true;
    setStatus(state.error ? `${status}: ${state.error}` : status);
  }

  function hangUp() {
    if (!call) return;
    setStatus("Hanging up…");
    send({ type: "end" }); // the server answers call.ended, then closes with 1000
  }

  $("connect").addEventListener("click", connect);
  $("hangup").addEventListener("click", hangUp);
  $("voice").addEventListener("change", showVoice);
  $("access").addEventListener("submit", (e) => {
    e.preventDefault();
    loadPickers().catch((err) => note("error", err.message));
  });
  init();
})();
