-- threadlint's language server in Neovim 0.7 to 0.9, where `vim.lsp.start_client` and
-- `vim.lsp.buf_attach_client` are the API (0.10 and later: see docs/integrations/editors.md).
-- Put this file in `~/.config/nvim/lua/` and call `require('threadlint').setup()` in init.lua.
local M = {}

local markers = { 'pyproject.toml', 'threadlint.toml', '.threadlint.toml', 'Cargo.toml', '.git' }
local clients = {} -- root folder -> client id

-- The nearest folder above `file` with one of the markers, else the current folder.
local function root_of(file)
  local dir = vim.fn.fnamemodify(file, ':p:h')
  while true do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return vim.fn.getcwd()
    end
    dir = parent
  end
end

-- opts.cmd: the command (default `{ 'threadlint', 'server' }`); opts.init_options: the
-- server's initialization options (`unsafeFixes`, `select`, `extendSelect`, `ignore`).
function M.setup(opts)
  opts = opts or {}
  vim.api.nvim_create_autocmd('FileType', {
    pattern = { 'python', 'rust' },
    callback = function(args)
      local root = root_of(vim.api.nvim_buf_get_name(args.buf))
      local id = clients[root]
      local client = id and vim.lsp.get_client_by_id(id)
      if not client or client.is_stopped() then
        id = vim.lsp.start_client({
          name = 'threadlint',
          cmd = opts.cmd or { 'threadlint', 'server' },
          root_dir = root,
          init_options = opts.init_options or { unsafeFixes = false },
        })
        clients[root] = id
      end
      if id then
        vim.lsp.buf_attach_client(args.buf, id)
      end
    end,
  })
end

-- Applies every safe fix in the current buffer (`source.fixAll.threadlint`).
function M.fix_all()
  local params = vim.lsp.util.make_range_params()
  params.context = { only = { 'source.fixAll.threadlint' }, diagnostics = {} }
  local responses = vim.lsp.buf_request_sync(0, 'textDocument/codeAction', params, 5000) or {}
  for id, response in pairs(responses) do
    local client = vim.lsp.get_client_by_id(id)
    for _, action in ipairs(response.result or {}) do
      if action.edit then
        vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
      end
    end
  end
end

return M
