using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Activation checkpointing (Chen et al., 2016, "Training Deep Nets with Sublinear Memory Cost"; PyTorch's
/// reentrant <c>torch.utils.checkpoint</c>): y = f(x) is computed without recording f's intermediate tensors, only x is
/// kept, and the backward pass runs f again with gradients on and back-propagates through that second run. The
/// parameters f uses receive their gradients from it, as they would from the first. f must compute the same
/// thing both times: no dropout or other random draw inside it.
/// </summary>
public static class ActivationCheckpoint
{
    /// <summary>
    /// f(x), recomputed in the backward pass when gradients are being recorded and x needs one; plainly f(x) otherwise.
    /// The function enters the autograd graph only through x (TorchSharp records it only if a tensor input needs a
    /// gradient), so an x without one — the first block of a model whose base weights LoRA froze — runs f recorded
    /// as usual, or the parameters inside f would get no gradient.
    /// </summary>
    public static Tensor Apply(Func<Tensor, Tensor> f, Tensor x) =>
        torch.is_grad_enabled() && x.requires_grad ? Recomputed.apply(x, f) : f(x);

    private sealed class Recomputed : autograd.SingleTensorFunction<Recomputed>
    {
        public override string Name => nameof(ActivationCheckpoint);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (x, f) = ((Tensor)vars[0], (Func<Tensor, Tensor>)vars[1]);
            ctx.save_for_backward([x]);
            ctx.save_data("f", f);
            return f(x); // gradients are off here (the Function's forward), so nothing inside f is kept
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var scope = torch.NewDisposeScope();
            var f = (Func<Tensor, Tensor>)ctx.get_data("f");
            var x = ctx.get_saved_variables()[0].detach().requires_grad_();
            using (torch.enable_grad())
                f(x).backward([gradOutput]);
            return [x.grad!.MoveToOuterDisposeScope(), null!];
        }
    }
}
