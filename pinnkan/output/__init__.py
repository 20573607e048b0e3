"""What a run leaves behind: the :class:`~pinnkan.output.result.Result` and its files.

- :mod:`~pinnkan.output.result`: ``Result`` (data and ``predict``) and the run-folder writer;
- :mod:`~pinnkan.output.model_file`: ``model.pt``, saved and loaded (format version, plain-data
  options, ``weights_only`` loading);
- :mod:`~pinnkan.output.vtu`, :mod:`~pinnkan.output.timeseries`, :mod:`~pinnkan.output.on_mesh`:
  VTU files, ParaView time series and GIFs, the solution on a user's mesh;
- :mod:`~pinnkan.output.plots`: PNG figures; :mod:`~pinnkan.output.atomic`: files that are
  either whole or absent.
"""
