"""The `.mmo` front end: the Lark grammar, the tree transformer, the printer."""
