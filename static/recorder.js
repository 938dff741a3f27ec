// The voice recorder: record (MediaRecorder) with a level meter; stop sends the recording
// to be transcribed (nothing is kept) and the text lands in the message box, to be edited
// before sending. A failure says why in the composer's error line; the box keeps its text.
(() => {
  "use strict";

  let recording = null;

  function say(message) {
    const out = document.getElementById("composer-error");
    if (out) out.textContent = message;
  }

  async function start(button) {
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") {
      say("This browser cannot record audio.");
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: true});
    } catch (_) {
      say("The microphone could not be used (permission refused, or none found).");
      return;
    }
    const recorder = new MediaRecorder(stream);
    const chunks = [];
    recorder.addEventListener("dataavailable", (event) => chunks.push(event.data));
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    const meter = document.getElementById("record-level");
    meter.hidden = false;
    const tick = () => {
      if (!recording) return;
      analyser.getByteTimeDomainData(samples);
      let peak = 0;
      for (const sample of samples) peak = Math.max(peak, Math.abs(sample - 128) / 128);
      meter.value = peak;
      requestAnimationFrame(tick);
    };
    recording = {recorder, stream, context, chunks, button};
    button.classList.add("recording");
    button.setAttribute("aria-pressed", "true");
    button.title = "Stop and transcribe";
    recorder.start();
    tick();
  }

  function stop() {
    const {recorder, stream, context, chunks, button} = recording;
    recording = null;
    recorder.addEventListener("stop", () => transcribe(new Blob(chunks, {type: recorder.mimeType}), button));
    recorder.stop();
    stream.getTracks().forEach((track) => track.stop());
    context.close();
    document.getElementById("record-level").hidden = true;
    button.classList.remove("recording");
    button.setAttribute("aria-pressed", "false");
    button.title = "Record a voice message (transcribed into the box)";
  }

  async function transcribe(blob, button) {
    const headers = JSON.parse(document.body.getAttribute("hx-headers:inherited") || "{}");
    const body = new FormData();
    body.append("file", blob, "recording.webm");
    say("Transcribing…");
    button.disabled = true;
    try {
      const response = await fetch(button.dataset.transcribeUrl, {
        method: "POST", body, headers: {"X-CSRF-Token": headers["X-CSRF-Token"] || "", "Accept": "application/json"}});
      const found = await response.json();
      if (!response.ok) { say(found.error || "The recording could not be transcribed."); return; }
      const input = document.getElementById("composer-input");
      input.value = input.value ? `${input.value} ${found.extracted_text}` : found.extracted_text;
      input.focus();
      say("");
    } catch (_) {
      say("Could not reach the server to transcribe the recording.");
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("#record-btn");
    if (!button) return;
    if (recording) stop(); else start(button);
  });
})();
