"""The model zoo, installed as the package data of ``archlang.zoo``: specs read with
``import zoo.vision.resnet`` or ``from zoo.text.gpt2 import GPT2Block`` (see
archlang/resolve/loader.py).  The folder holds no Python; this file only makes it a package."""
