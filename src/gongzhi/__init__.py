"""Gongzhi (共治): urban-rural co-governance platform."""

__version__ = "0.1.0"
