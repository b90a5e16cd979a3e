namespace GovSg.Tests; public class T { [NUnit.Framework.Test] public void X() { NUnit.Framework.Assert.That(1, NUnit.Framework.Is.EqualTo(1)); } }
