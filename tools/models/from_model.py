"""Go on training an exported latent video model whose run is gone (its OUT/ae.pt, data.pt and checkpoints
are on another machine): writes into OUT what train.py needs to start a stage from the exported weights.

  /usr/bin/python3 tools/models/from_model.py --model models/drift-video --out out/from-shipped
  tools/models/train.py --model video <the recipe of train-video.sh> --init OUT/ckpt.pt --data-dir OUT ...

- OUT/ae.pt: an encoder fitted to the model's (folded) decoder (video_ae.refit_encoder: it outputs the
  normalised latents the transformer works in) beside that decoder. train.py takes it as the run's
  autoencoder and encodes the training set with it (OUT/data.pt, as a run from nothing does); the
  latent normalisation it measures there is then close to the identity, and the decoder it exports is
  the model's, folded with it once more.
- OUT/ckpt.pt: the transformer's weights and architecture as train.py's --init expects them, with the
  model's own training stages (from its JSON) so that the next stage's record lists them.
The noise flow's head and the decoder refinement are not carried over: train-video.sh's last steps
make them again for the new weights.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402
import video_ae  # noqa: E402


def checkpoint_of(net, conf):
    """train.py's checkpoint of an exported model's transformer (reference.load's net and conf)"""
    tr = conf.get("training", {})
    stages = [{"steps": s.get("steps", 0), "seconds": s.get("seconds", 0.0), "lr": s.get("lr", 0.0),
               "rollout": s.get("own_rollout_share", 0.0)} for s in tr.get("stages", [])]
    return {"cfg": net.cfg, "state": {k: v.detach().clone() for k, v in net.state_dict().items()},
            "steps": tr.get("steps", 0), "seconds": tr.get("seconds", 0.0), "args": {"lr": tr.get("lr", 0.0)},
            "stages": stages, "imported_from": {"commit": tr.get("commit"), "data_version": tr.get("data_version")}}


def autoencoder_of(enc, dec_state, seconds, psnr):
    """video_ae.train's ae.pt for a refitted encoder and an exported (folded) decoder"""
    dec = video_ae.decoder_from_state(dec_state)
    return {"recipe": video_ae.AE_RECIPE, "enc": video_ae.plain_state(enc), "dec": video_ae.plain_state(dec),
            "steps": 0, "seconds": seconds, "psnr": psnr, "refitted_to_decoder": True}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="an exported latent video model (STEM.json, STEM.safetensors)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--refit-seconds", type=float, default=360)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    net, conf = reference.load(a.model)
    if conf["kind"] != "video" or not conf.get("latent"):
        sys.exit(f"--model {a.model}: not a latent video model")
    lt = conf["latent"]
    if lt["factor"] != video_ae.FACTOR or lt["channels"] != video_ae.CHANNELS or \
            list(lt["decoder"]["layers"]) != video_ae.DECODER_LAYERS:
        sys.exit(f"--model {a.model}: its autoencoder (factor {lt['factor']}, {lt['channels']} channels, "
                 f"layers {lt['decoder']['layers']}) is not video_ae.py's")
    os.makedirs(a.out, exist_ok=True)
    log = lambda m: print(m, flush=True)  # noqa: E731
    ck_path, ae_path = os.path.join(a.out, "ckpt.pt"), os.path.join(a.out, "ae.pt")
    for p in (ck_path, ae_path):
        if os.path.exists(p):
            sys.exit(f"{p} exists: remove it to import again")
    torch.save(checkpoint_of(net, conf), ck_path)
    log(f"wrote {ck_path}: the transformer of {a.model} ({conf['training'].get('steps', '?')} steps)")
    t0 = time.time()
    frames = video_ae.refine_frames(a.seed)
    enc, held = video_ae.refit_encoder(conf["_decoder"], frames, a.refit_seconds, a.seed, log)
    torch.save(autoencoder_of(enc, conf["_decoder"], time.time() - t0, held["psnr"]), ae_path)
    log(f"wrote {ae_path}: an encoder fitted to its decoder, held-out {held}")


if __name__ == "__main__":
    main()
