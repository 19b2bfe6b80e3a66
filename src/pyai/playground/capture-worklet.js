// The microphone, as the Omni socket wants it: PCM16 little-endian mono frames of a fixed length.
// Runs on the audio thread of an AudioContext created at the socket's rate (24 kHz), so the browser
// has already resampled the device's audio; this only mixes to mono, converts and slices into frames
// (posted to the page as transferable ArrayBuffers).
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const ms = (options.processorOptions && options.processorOptions.frameMs) || 20;
    this.size = Math.round(sampleRate * ms / 1000);
    this.frame = new Int16Array(this.size);
    this.filled = 0;
  }

  process(inputs, outputs) {
    const channels = inputs[0];
    if (channels && channels.length) {
      const n = channels[0].length;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < channels.length; c++) s += channels[c][i];
        s /= channels.length;
        s = s < -1 ? -1 : s > 1 ? 1 : s;
        this.frame[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
        if (this.filled === this.size) {
          const out = this.frame.buffer;
          this.port.postMessage(out, [out]); // transferred: this.frame is detached now
          this.frame = new Int16Array(this.size);
          this.filled = 0;
        }
      }
    }
    // The node is connected to the destination only so that it keeps being rendered: output silence.
    for (const output of outputs) for (const channel of output) channel.fill(0);
    return true;
  }
}

registerProcessor("pyai-capture", CaptureProcessor);
