"""The .mmo grammar, shipped as package data of mmoc."""
