"""HEROES Hub runtime: the ``hub`` CLI, embedded broker and schema registry, and the glue that starts every part."""
