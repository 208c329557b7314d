"""absl flags derived from the library's declarations, so each setting is declared once: the
fields of a dataclass (`TrainConfig`) and the hyperparameters the GAN classes declare."""

import dataclasses
import types
import typing

from absl import flags

from tfgan2 import errors

FLAGS = flags.FLAGS
_FLAG_KINDS = {bool: 'boolean', int: 'integer', float: 'float', str: 'string'}


def _define(name, kind, default, help_text, choices=()):
    """A flag of python type `kind` (bool, int, float, str, or tuple for a list of ints)."""
    if choices:
        flags.DEFINE_enum(name, default, list(choices), help_text)
    elif kind is tuple:
        flags.DEFINE_list(name, default, help_text)
    else:
        getattr(flags, f'DEFINE_{_FLAG_KINDS[kind]}')(name, default, help_text)


def _annotated_type(annotation):
    """int from `int` or `int | None`."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def define_config_flags(config_class, exclude=()):
    """One flag per field of the dataclass `config_class`, with its default and help; returns
    the flag names."""
    hints = typing.get_type_hints(config_class)
    names = []
    for field in dataclasses.fields(config_class):
        if field.name not in exclude:
            _define(field.name, _annotated_type(hints[field.name]), field.default, field.metadata['help'])
            names.append(field.name)
    return names


def config_from_flags(config_class, exclude=()):
    return config_class(**{field.name: _value(field.name) for field in dataclasses.fields(config_class)
                           if field.name not in exclude})


def define_hyperparameter_flags(model_classes):
    """One flag per hyperparameter declared by any of `model_classes` (`HYPERPARAMETERS`),
    defaulting to None: each model's own default. Returns the flag names."""
    declarations, defaults = {}, {}
    for cls in model_classes:
        for declared in cls.HYPERPARAMETERS:
            first = declarations.setdefault(declared.name, declared)
            if dataclasses.replace(declared, default=first.default) != first:
                raise TypeError(f'{cls.kind} declares {declared.name} unlike another model (type, choices or '
                                f'help); one flag cannot serve both: share one declaration.')
            defaults.setdefault(declared.name, {})[cls.kind] = declared.default
    for name, declared in declarations.items():
        kinds_by_default = {}
        for kind, value in defaults[name].items():
            kinds_by_default.setdefault(_describe(value), []).append(kind)
        described = '; '.join(f'{", ".join(kinds)} {value}' for value, kinds in kinds_by_default.items())
        help_text = f'{declared.help[0].upper()}{declared.help[1:]} (model default: {described}).'
        _define(name, declared.kind, None, help_text, declared.choices)
    return list(declarations)


def hyperparameters_from_flags(cls, flag_names):
    """The hyperparameter flags among `flag_names` that were set, for model class `cls`; a
    flag that `cls` does not declare is refused."""
    declared = {h.name for h in cls.HYPERPARAMETERS}
    chosen = {}
    for name in flag_names:
        value = _value(name)
        if value is None:
            continue
        if name not in declared:
            raise errors.ConfigError(f'--{name} does not apply to --model={cls.kind}; drop it.')
        chosen[name] = value
    return chosen


def _describe(value):
    if value is None:
        return 'set by its other settings or the data'
    return ','.join(map(str, value)) if isinstance(value, tuple) else str(value)


def _value(name):
    value = FLAGS[name].value
    if isinstance(value, list):
        try:
            return tuple(int(v) for v in value)
        except ValueError:
            raise errors.ConfigError(f'{name}={",".join(value)}: give whole numbers separated by commas, '
                                     f'e.g. 128,64.') from None
    return value
