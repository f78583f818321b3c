"""Audio output (layer 5): where rendered blocks go.

A *source* is anything with `render_into(out)` filling a float32 mono block (`source.BlockSource`;
the engine is one, `tone.SineSource` another). Outputs:
- `pyaudio_output.PyAudioOutput`: real time, a render thread feeding PortAudio's ring (no Python in
  the device's audio thread), counts underruns and errors, notices a device that went away;
- `callback_output.CallbackOutput`: the old arrangement (Python in PortAudio's callback), kept to
  measure against (`latent bench xruns --arrangement callback`);
- `wav_output.WavFileOutput` and `null_output.NullOutput`: blocks pushed by `offline.run_offline`;
- `devices`: list the sound devices, pick one, or learn there is none (fall back to a WAV file).
`latent bench audio` (device.bench.audio_bench) measures this path on its own.
"""
