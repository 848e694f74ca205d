"""The procedural generators are deterministic from a seed: every video family and every audio family
is rendered in two fresh processes with the same seeds and must hash the same; another seed must
hash differently.   /usr/bin/python3 tools/models/check_datagen.py
"""
import hashlib
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def digest(seed):
    import datagen_audio
    import datagen_video
    from vocab import AUDIO_FAMILIES, VIDEO_FAMILIES
    rng = random.Random(seed)
    h = hashlib.sha256()
    vs = [datagen_video.random_spec(rng, f) for f in VIDEO_FAMILIES]
    h.update(datagen_video.render(vs, 2, 64).numpy().tobytes())
    aus = [datagen_audio.random_spec(rng, f) for f in AUDIO_FAMILIES]
    h.update(datagen_audio.render(aus, 4096).numpy().tobytes())
    return h.hexdigest()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--digest":
        print(digest(int(sys.argv[2])))
        return
    run = lambda s: subprocess.run([sys.executable, __file__, "--digest", str(s)], check=True,  # noqa: E731
                                   capture_output=True, text=True).stdout.strip()
    a, b, c = run(11), run(11), run(12)
    print(f"seed 11: {a}\nseed 11: {b}\nseed 12: {c}")
    if a != b:
        sys.exit("generators are not deterministic: same seed, different data")
    if a == c:
        sys.exit("different seeds gave the same data")


if __name__ == "__main__":
    main()
