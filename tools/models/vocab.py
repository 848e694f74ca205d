"""One prompt vocabulary for the video and the audio model (DATA_VERSION, AUDIO_DATA_VERSION below).

A prompt is lowercase words separated by spaces. Every word must be in VOCAB; an unknown word is an
error that names it (never silently dropped). The empty prompt is valid and means "unconditional".
Word ids are indices into VOCAB; both models' text encoders use the same list.
"""

DATA_VERSION = "drift-procedural-1"          # the video families
# The audio families. 2: the engine hum's fundamental is 110-180 Hz (a car's firing rate at cruising
# revs), not 28-50: with "low" (x0.6) that was 17-30 Hz, below what most speakers play and closer
# than the STFT's 23.4-Hz bins resolve, so no model in this representation could be in tune.
AUDIO_DATA_VERSION = "drift-procedural-audio-2"

# Scene / sound family words. A word may name a video family, an audio family, or both.
VIDEO_FAMILIES = ["flames", "water", "clouds", "plasma", "stars", "aurora", "rain", "lava", "ocean", "smoke"]
AUDIO_FAMILIES = ["rain", "wind", "surf", "fire", "drone", "chimes", "engine"]

# synonyms: word -> canonical family (video, audio); None where the word has no meaning for that model
FAMILY_WORDS = {
    "flames": ("flames", "fire"), "fire": ("flames", "fire"), "crackling": (None, "fire"),
    "water": ("water", None), "caustics": ("water", None),
    "clouds": ("clouds", "wind"), "sky": ("clouds", None), "wind": ("clouds", "wind"),
    "plasma": ("plasma", None),
    "stars": ("stars", None), "starfield": ("stars", None), "space": ("stars", None),
    "aurora": ("aurora", None),
    "rain": ("rain", "rain"), "drops": ("rain", "rain"), "glass": ("rain", None),
    "lava": ("lava", None), "lamp": ("lava", None), "blobs": ("lava", None),
    "ocean": ("ocean", "surf"), "waves": ("ocean", "surf"), "surf": ("ocean", "surf"), "sea": ("ocean", "surf"),
    "smoke": ("smoke", None),
    "drone": (None, "drone"), "chimes": (None, "chimes"), "bells": (None, "chimes"),
    "engine": (None, "engine"), "hum": (None, "engine"), "motor": (None, "engine"),
}

COLORS = {  # word -> linear-ish RGB in [0, 1]
    "red": (0.95, 0.12, 0.08), "orange": (1.0, 0.5, 0.05), "yellow": (1.0, 0.88, 0.15),
    "green": (0.15, 0.95, 0.3), "cyan": (0.1, 0.9, 0.95), "blue": (0.15, 0.35, 1.0),
    "violet": (0.6, 0.2, 1.0), "purple": (0.6, 0.2, 1.0), "pink": (1.0, 0.35, 0.7),
    "white": (0.95, 0.95, 0.95), "golden": (1.0, 0.75, 0.2),
}
SPEEDS = {"slow": 0.5, "calm": 0.5, "fast": 2.0, "rapid": 2.0}           # video time scale
SCALES = {"large": 0.6, "big": 0.6, "small": 1.7, "fine": 1.7}          # video spatial frequency scale
DENSITY = {"dense": 1.0, "sparse": 0.35}                                  # stars, rain drops
PITCH = {"low": 0.6, "deep": 0.6, "high": 1.7, "bright": 1.7}             # audio pitch / brightness
LEVEL = {"soft": 0.45, "quiet": 0.45, "loud": 1.6, "intense": 1.6}        # audio intensity
FILLER = ["a", "the", "of", "and", "with", "in"]

VOCAB = sorted(set(FAMILY_WORDS) | set(COLORS) | set(SPEEDS) | set(SCALES) | set(DENSITY)
               | set(PITCH) | set(LEVEL) | set(FILLER))
WORD_ID = {w: i for i, w in enumerate(VOCAB)}


class UnknownWord(ValueError):
    pass


def tokenize(prompt):
    """prompt -> list of word ids. Raises UnknownWord naming the first unknown word."""
    ids = []
    for w in prompt.lower().split():
        if w not in WORD_ID:
            raise UnknownWord(f"unknown word in prompt: {w!r} (see the vocabulary in docs/MODELS.md)")
        ids.append(WORD_ID[w])
    return ids
