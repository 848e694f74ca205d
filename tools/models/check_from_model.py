"""from_model.py's parts on the shipped video model: the checkpoint it writes holds the exported
transformer exactly, with the architecture train.py builds for train-video.sh's recipe (so --init takes
it) and the model's training stages; the autoencoder file loads with video_ae.load and decodes as the
exported decoder does; a model that is not a latent video model is refused by name.
  /usr/bin/python3 tools/models/check_from_model.py
"""
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checks import expect, finish  # noqa: E402
import from_model  # noqa: E402
import model as M  # noqa: E402
import reference  # noqa: E402
import video_ae  # noqa: E402
from vocab import VOCAB  # noqa: E402

MODELS = os.path.join(HERE, "..", "..", "models")


def main():
    torch.manual_seed(3)
    net, conf = reference.load(os.path.join(MODELS, "drift-video"))
    ck = from_model.checkpoint_of(net, conf)
    # 1. train-video.sh's rollout stage (--hidden 192 --depth 6 --previous-frame --previous-frame-clean, latent
    #    defaults) builds this cfg
    recipe = M.video_config(len(VOCAB), width=256, height=256, latent_factor=video_ae.FACTOR,
                            latent_channels=video_ae.CHANNELS, patch=4, prediction="x", hidden=192, depth=6,
                            previous_frame_input=True, previous_frame_clean=True)
    expect(ck["cfg"] == recipe, "the checkpoint's architecture is the recipe's (train.py --init compares them)")
    again = M.DriftDiT(ck["cfg"])
    again.load_state_dict(ck["state"])
    sd = net.state_dict()
    expect(all(torch.equal(sd[k], ck["state"][k]) for k in sd), f"the transformer's {len(sd)} tensors, exactly")
    stages = conf["training"]["stages"]
    expect(len(ck["stages"]) == len(stages) and ck["stages"][-1]["steps"] == stages[-1]["steps"],
           f"the model's {len(stages)} training stages carried over: {ck['stages']}")
    # 2. the autoencoder file: video_ae.load takes it; its decoder is the exported one
    enc = video_ae.Encoder()
    ae = from_model.autoencoder_of(enc, conf["_decoder"], 1.0, 30.0)
    _, dec = video_ae.load(ae)
    z = torch.randn(2, 32, 32, video_ae.CHANNELS)
    with torch.no_grad():
        got = dec(z.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    want = reference.decode(conf, z)
    expect(torch.allclose(got, want, atol=1e-5), f"decoder as exported: max diff {float((got - want).abs().max()):.2e}")
    expect(ae["recipe"] == video_ae.AE_RECIPE, "the recipe train.py's video_ae.train accepts as the run's")
    # 3. refusals
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, os.path.join(HERE, "from_model.py"), "--model",
                            os.path.join(MODELS, "drift-audio"), "--out", tmp], capture_output=True, text=True)
        expect(r.returncode != 0 and "not a latent video model" in r.stderr, f"the audio model refused: {r.stderr.strip()}")
        open(os.path.join(tmp, "ckpt.pt"), "wb").close()
        r = subprocess.run([sys.executable, os.path.join(HERE, "from_model.py"), "--model",
                            os.path.join(MODELS, "drift-video"), "--out", tmp], capture_output=True, text=True)
        expect(r.returncode != 0 and "ckpt.pt exists" in r.stderr, f"an earlier import kept: {r.stderr.strip()}")
    finish("from_model: all checks passed")


if __name__ == "__main__":
    main()
