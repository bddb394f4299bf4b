"""A small PyTorch training that labelrun can run and chart.

It fits a two-layer network to a noisy sine curve and prints one JSON metrics
line per epoch, e.g. {"epoch": 3, "loss": 0.0412, "lr": 0.01}. labelrun reads
such lines from the log with no SDK: the `loss` field becomes the curve on the
issue. The trained weights go to outputs/, which a rule's `outputs` collects.

    python3 train.py [--epochs 5] [--samples 131072] [--device cpu|cuda] [--seed 0]
"""

import argparse
import json
import math
import os
import sys
import time

import torch
from torch import nn


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=int(os.environ.get("EPOCHS", "5")))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--samples", type=int, default=131072, help="training points per epoch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.0002)
    parser.add_argument("--outputs", default="outputs")
    return parser.parse_args()


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    print(f"training on {device} with torch {torch.__version__}, {args.epochs} epochs", flush=True)

    x = torch.linspace(-math.pi, math.pi, args.samples, device=device).unsqueeze(1)
    y = torch.sin(x) + 0.05 * torch.randn_like(x)
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.MSELoss()

    for epoch in range(1, args.epochs + 1):
        started = time.monotonic()
        for batch in torch.randperm(x.shape[0], device=device).split(64):
            optimizer.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            epoch_loss = loss_fn(model(x), y).item()
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(f"loss is {epoch_loss} at epoch {epoch}")
        line = {"epoch": epoch, "loss": round(epoch_loss, 4), "lr": args.lr,
                "seconds": round(time.monotonic() - started, 3)}
        print(json.dumps(line), flush=True)

    os.makedirs(args.outputs, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.outputs, "model.pt"))
    print(f"saved {args.outputs}/model.pt after {args.epochs} epochs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
