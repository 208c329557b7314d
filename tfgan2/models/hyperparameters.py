"""Hyperparameter declarations: each GAN states the settings a user chooses (name, type, default,
help) in one tuple, `HYPERPARAMETERS`. The constructor checks and resolves them, `get_config`
and gan.json record the resolved values, tfgan2-train derives its flags from them and
docs/hyperparameters.md is generated from them."""

import dataclasses
from collections.abc import Mapping

from tfgan2 import errors

Widths = tuple  # one filter count per network stage


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One setting of a GAN. `kind` is int, float, bool, str or Widths (a tuple of ints);
    `choices` holds the values a str takes (a registry such as `losses.ADVERSARIAL_LOSSES`
    counts its entries when checked). A default of None is resolved by the model from its other
    settings or the data, as `help` says."""
    name: str
    kind: type
    default: object
    help: str
    choices: tuple = ()

    def checked(self, value):
        """`value` in this setting's type (ints are accepted as floats), or a ConfigError."""
        if value is None:
            if self.default is None:
                return None
            raise errors.ConfigError(f'{self.name}=None: give a {self.type_name()}.')
        if self.kind is Widths:
            if isinstance(value, (list, tuple)) and value and all(_is_int(v) for v in value):
                return tuple(int(v) for v in value)
        elif self.kind is float and (_is_int(value) or isinstance(value, float)):
            return float(value)
        elif self.kind is int and _is_int(value):
            return int(value)
        elif isinstance(value, self.kind) and (self.kind is not int or not isinstance(value, bool)):
            if self.choices and value not in self.choices:
                raise errors.ConfigError(f'{self.name}={value!r} is unknown; use one of {", ".join(self.choices)}.')
            return value
        raise errors.ConfigError(f'{self.name}={value!r}: give a {self.type_name()}.')

    def type_name(self):
        if self.choices:
            return f'one of {", ".join(self.choices)}'
        return {Widths: 'list of whole numbers such as 128,64', int: 'whole number', float: 'number',
                bool: 'true or false', str: 'text'}[self.kind]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def extend(declared, *added, **defaults):
    """`declared` with `added` appended, and the defaults named in `defaults` replaced: how a
    GAN adds settings to its base class's and changes the base defaults it measured better."""
    names = [h.name for h in (*declared, *added)]
    unknown = set(defaults) - set(names)
    if unknown:
        raise TypeError(f'no hyperparameter {", ".join(sorted(unknown))} to change the default of')
    if len(set(names)) != len(names):
        raise TypeError(f'hyperparameters declared twice: {sorted({n for n in names if names.count(n) > 1})}')
    return tuple(dataclasses.replace(h, default=defaults[h.name]) if h.name in defaults else h
                 for h in (*declared, *added))


def resolve(declared, given, owner):
    """{name: value} for every declaration: the given values checked, the others their
    defaults; a name that `owner` (a GAN kind) does not declare is refused, naming those it does."""
    names = [h.name for h in declared]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise errors.ConfigError(f'{", ".join(unknown)} do(es) not apply to {owner}; its hyperparameters are '
                                 f'{", ".join(names)}.')
    return {h.name: h.checked(given[h.name]) if h.name in given else h.default for h in declared}


class Values(Mapping):
    """The resolved hyperparameters of one GAN, read as `values.name` or `values['name']`.

    A plain mapping rather than a dict, so Keras does not wrap it for tracking."""

    def __init__(self, values):
        self._values = dict(values)

    def __getitem__(self, name):
        return self._values[name]

    def __getattr__(self, name):
        try:
            return self.__dict__['_values'][name]
        except KeyError:
            raise AttributeError(f'no hyperparameter {name!r}') from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return f'Values({self._values!r})'


def markdown_table(model_classes):
    """docs/hyperparameters.md's table: one row per hyperparameter with each model's default."""
    rows, defaults = {}, {}
    for cls in model_classes:
        for h in cls.HYPERPARAMETERS:
            rows.setdefault(h.name, h)
            defaults.setdefault(h.name, {})[cls.kind] = h.default
    kinds = [cls.kind for cls in model_classes]
    lines = [f'| hyperparameter | {" | ".join(kinds)} | what it sets |', f'|---|{"---|" * len(kinds)}---|']
    for name, h in rows.items():
        cells = [_describe(defaults[name][kind]) if kind in defaults[name] else '' for kind in kinds]
        choices = f' ({" / ".join(h.choices)})' if h.choices else ''
        lines.append(f'| `{name}` | {" | ".join(cells)} | {h.help}{choices} |')
    return '\n'.join(lines) + '\n'


def _describe(value):
    if value is None:
        return 'derived'
    if isinstance(value, tuple):
        return ','.join(map(str, value))
    return f'`{value}`' if isinstance(value, str) else str(value)


DOCS_HEADER = """# Hyperparameters

Every GAN's settings, as the models declare them (`HYPERPARAMETERS` in each module of
`tfgan2/models/`). `tfgan2-train` takes each as a flag (`--loss=hinge`), `tfgan2.build_gan` as a
keyword (`build_gan('dcgan', data, loss='hinge')`); a run records the resolved values in gan.json.
A blank cell: the model does not take it; "derived": resolved from its other settings or the data.
Generated by `python -m tfgan2.models.hyperparameters > docs/hyperparameters.md`.

"""

if __name__ == '__main__':
    from tfgan2 import models
    print(DOCS_HEADER + markdown_table(list(models.MODELS.values())), end='')
