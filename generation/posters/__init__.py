"""Posters: the product with headline, price, button and brand, laid out per size.

- ``spec``: what a merchant asks for (``PosterSpec``, ``BrandKit``).
- ``sizes`` and ``template``: size presets and templates as data (``sizes.json``,
  ``templates/*.json``), validated on first use.
- ``layout``: template + size -> a concrete box for every element.
- ``backgrounds`` and ``decor``: what is drawn behind the text.
- ``render``: the poster, its checks (``checks``) and its layout JSON.

Type is set through ``generation.typography``, shared with clips.
"""
