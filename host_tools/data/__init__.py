"""Training data for the latent-space GAN (host tools): NSynth's layout read as is, NSynth-like sets
rendered offline from General MIDI soundfonts with fluidsynth, and folders of artists' own sounds.

Modules: nsynth_fields (NSynth's vocabulary), gm_programs (GM program -> family/source table),
soundfonts (finding one), fluid_renderer (one note through fluidsynth), recipe (what to render),
render (writing the set), nsynth_dataset / wav_folder (reading sets as map-style datasets),
pitch_estimation (YIN), audio_ops (resample, cut, normalise), stats (report + PNG), cli (`latent data`).
"""
