"""absl flags derived from the library's declarations, so each setting is declared once: the
fields of a dataclass (`TrainConfig`) and the constructor arguments of the GAN classes."""

import dataclasses
import inspect
import types
import typing

from absl import flags

from tfgan2 import errors

FLAGS = flags.FLAGS


def _flag_type(annotation, default):
    """(kind, choices) for a parameter: 'integer', 'float', 'boolean', 'string', 'enum' or 'ints'."""
    options = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = options[0]
        options = list(typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Literal:
        return 'enum', options
    if typing.get_origin(annotation) is tuple or isinstance(default, tuple):
        return 'ints', None
    kind = annotation if annotation is not inspect.Parameter.empty else type(default)
    return {bool: 'boolean', int: 'integer', float: 'float', str: 'string'}[kind], None


def _define(name, kind, choices, default, help_text):
    if kind == 'enum':
        flags.DEFINE_enum(name, default, choices, help_text)
    elif kind == 'ints':
        flags.DEFINE_list(name, default, help_text)
    else:
        getattr(flags, f'DEFINE_{kind}')(name, default, help_text)


def define_config_flags(config_class, exclude=()):
    """One flag per field of the dataclass `config_class`, with its default and help; returns
    the flag names."""
    hints = typing.get_type_hints(config_class)
    names = [field.name for field in dataclasses.fields(config_class) if field.name not in exclude]
    for field in dataclasses.fields(config_class):
        if field.name in names:
            kind, choices = _flag_type(hints[field.name], field.default)
            _define(field.name, kind, choices, field.default, field.metadata['help'])
    return names


def config_from_flags(config_class, exclude=()):
    return config_class(**{field.name: _value(field.name) for field in dataclasses.fields(config_class)
                           if field.name not in exclude})


def define_hyperparameter_flags(model_classes, names_of, help_of):
    """One flag per hyperparameter of any of `model_classes` (`names_of(cls)` lists them,
    `help_of(cls)` documents them), defaulting to None: each model's own default. Returns the
    flag names."""
    parameters = {}
    for cls in model_classes:
        signature, hints = inspect.signature(cls), typing.get_type_hints(cls.__init__)
        for name in names_of(cls):
            entry = parameters.setdefault(name, {'defaults': {}, 'help': help_of(cls)[name]})
            entry['defaults'][cls.kind] = signature.parameters[name].default
            entry['type'] = _flag_type(hints.get(name, inspect.Parameter.empty),
                                       signature.parameters[name].default)
    for name, entry in parameters.items():
        kinds_by_default = {}
        for kind, value in entry['defaults'].items():
            kinds_by_default.setdefault(_describe(value), []).append(kind)
        defaults = '; '.join(f'{", ".join(kinds)} {value}' for value, kinds in kinds_by_default.items())
        help_text = entry['help'][0].upper() + entry['help'][1:]
        _define(name, *entry['type'], None, f'{help_text} (model default: {defaults}).')
    return list(parameters)


def hyperparameters_from_flags(cls, flag_names, names_of):
    """The hyperparameter flags among `flag_names` that were set, for model class `cls`; a
    flag that `cls` does not take is refused."""
    chosen = {}
    for name in flag_names:
        value = _value(name)
        if value is None:
            continue
        if name not in names_of(cls):
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
