"""Front ends: what each command-line subcommand does, and the ipywidgets explorer."""
